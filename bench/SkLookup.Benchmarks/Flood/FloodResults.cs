using SkLookup.Benchmarks.Statistics;

namespace SkLookup.Benchmarks.Flood;

/// <summary>All runs of the flood benchmark, with summaries per flood and configuration, and how the namespaces were set up.</summary>
internal sealed record FloodResults(FloodSettings Settings, IReadOnlyList<FloodRun> Runs, IReadOnlyList<string> TopologyNotes)
{
    /// <summary>The runs of <paramref name="configuration"/> under the <paramref name="shape"/> flood.</summary>
    public IReadOnlyList<FloodRun> Of(LookupShape shape, string configuration) =>
        Runs.Where(run => run.Shape == shape && run.Configuration == configuration).ToList();

    /// <summary>Summarises <paramref name="metric"/> over the runs of one flood and configuration.</summary>
    public Summary Summarise(LookupShape shape, string configuration, Func<FloodRun, double> metric) =>
        Summary.Of(Of(shape, configuration).Select(metric).ToList());
}
