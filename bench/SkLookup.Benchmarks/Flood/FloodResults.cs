using SkLookup.Benchmarks.Statistics;

namespace SkLookup.Benchmarks.Flood;

/// <summary>All runs of the flood benchmark, with summaries per flood and configuration, and how the namespaces were set up.</summary>
internal sealed record FloodResults(FloodSettings Settings, IReadOnlyList<FloodRun> Runs, IReadOnlyList<string> TopologyNotes)
{
    /// <summary>The runs of <paramref name="configuration"/> under the <paramref name="shape"/> flood.</summary>
    public IReadOnlyList<FloodRun> Of(LookupShape shape, string configuration) =>
        Runs.Where(run => run.Shape == shape && run.Configuration == configuration).ToList();

    /// <summary>Below this mean share of busy time, the receiving CPU did not limit a two-CPU flood: the sender did.</summary>
    public const double SaturatedBusyShare = 0.9;

    /// <summary>
    /// The lowest and highest mean busy share of the receiving CPU over the configurations of the
    /// <paramref name="shape"/> flood; when the lowest is under <see cref="SaturatedBusyShare"/>, some
    /// configuration's rate was set by the sender, not by the receive path.
    /// </summary>
    public (double Lowest, double Highest) ReceiverBusy(LookupShape shape)
    {
        var means = Runs.Where(run => run.Shape == shape).GroupBy(run => run.Configuration).Select(group => group.Average(run => run.ReceiverBusyShare)).ToList();
        return means.Count == 0 ? (double.NaN, double.NaN) : (means.Min(), means.Max());
    }

    /// <summary>True if every configuration of the flood kept the receiving CPU busy (see <see cref="ReceiverBusy"/>).</summary>
    public bool ReceiverSaturated(LookupShape shape) => ReceiverBusy(shape).Lowest >= SaturatedBusyShare;

    /// <summary>Summarises <paramref name="metric"/> over the runs of one flood and configuration.</summary>
    public Summary Summarise(LookupShape shape, string configuration, Func<FloodRun, double> metric) =>
        Summary.Of(Of(shape, configuration).Select(metric).ToList());
}
