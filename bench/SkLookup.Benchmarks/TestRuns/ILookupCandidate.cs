namespace SkLookup.Benchmarks.TestRuns;

/// <summary>
/// A program whose per-lookup cost the test-run benchmark measures against a no-op program. To add one,
/// implement this and list it in <see cref="LookupCandidates.All"/>.
/// </summary>
internal interface ILookupCandidate
{
    /// <summary>A short name for the tables, e.g. "series-lpm".</summary>
    string Name { get; }

    /// <summary>One sentence for BENCHMARKS.md: what the program does.</summary>
    string Description { get; }

    /// <summary>The numbers of bindings to measure the program with, each a separate build.</summary>
    IReadOnlyList<int> BindingCounts { get; }

    /// <summary>
    /// Loads the program with <paramref name="bindingsCount"/> bindings, set up so that lookups of
    /// <paramref name="shape"/> can hit and miss, and returns it with the cases to measure.
    /// </summary>
    PreparedCandidate Build(int bindingsCount, LookupShape shape);
}
