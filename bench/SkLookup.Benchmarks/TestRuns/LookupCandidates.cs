namespace SkLookup.Benchmarks.TestRuns;

/// <summary>The candidates the test-run benchmark measures. The dispatcher's candidate goes in this list.</summary>
internal static class LookupCandidates
{
    /// <summary>Every candidate, in table order.</summary>
    public static IReadOnlyList<ILookupCandidate> All { get; } =
    [
        new SeriesLpmCandidate(),
        // Later: new DispatcherCandidate(), building SkLookup's dispatcher with bindingsCount bindings.
    ];
}
