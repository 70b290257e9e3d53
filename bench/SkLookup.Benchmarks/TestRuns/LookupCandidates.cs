using SkLookup.Benchmarks.Dispatching;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>The candidates the test-run benchmark measures, in table order.</summary>
internal static class LookupCandidates
{
    /// <summary>
    /// The floors first (one helper call; the kernel-mandated part of a hit), then the series' program,
    /// then the dispatcher in each binding mix at every size.
    /// </summary>
    public static IReadOnlyList<ILookupCandidate> All { get; } =
    [
        new HelperCallCandidate(),
        new AssignFloorCandidate(),
        new SeriesLpmCandidate(),
        .. BindingMix.All.Select(mix => new DispatcherCandidate(mix, DispatcherCandidate.AllCounts)),
    ];
}
