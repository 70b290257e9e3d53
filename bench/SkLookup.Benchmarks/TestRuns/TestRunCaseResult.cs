using SkLookup.Benchmarks.Statistics;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>
/// The rounds measured for one candidate, shape, number of bindings and case. Each round ran the no-op program and then the
/// candidate, <see cref="Repeat"/> times each, on the same input, in the same process pinned to one CPU.
/// </summary>
internal sealed record TestRunCaseResult(
    string Candidate,
    LookupShape Shape,
    int Bindings,
    string Case,
    uint Repeat,
    IReadOnlyList<double> NoOpKernelNs,
    IReadOnlyList<double> CandidateKernelNs,
    IReadOnlyList<double> NoOpWallNs,
    IReadOnlyList<double> CandidateWallNs)
{
    /// <summary>The number of rounds.</summary>
    public int Rounds => CandidateKernelNs.Count;

    /// <summary>The kernel's mean ns per run (BPF_PROG_TEST_RUN's duration), summarised over rounds.</summary>
    public Summary NoOpKernel => Summary.Of(NoOpKernelNs);

    /// <inheritdoc cref="NoOpKernel"/>
    public Summary CandidateKernel => Summary.Of(CandidateKernelNs);

    /// <summary>The headline: median of the candidate minus median of the no-op, in ns per lookup.</summary>
    public double DeltaKernelNs => CandidateKernel.Median - NoOpKernel.Median;

    /// <summary>The per-round differences (candidate minus the no-op of the same round), for the spread.</summary>
    public Summary PerRoundKernelDelta => Summary.Of(Differences(CandidateKernelNs, NoOpKernelNs));

    /// <summary>The same difference from wall-clock time around the syscall (sub-ns resolution, but includes preemption).</summary>
    public double DeltaWallNs => Summary.MedianOf(CandidateWallNs) - Summary.MedianOf(NoOpWallNs);

    /// <summary>Per-round wall-clock differences.</summary>
    public Summary PerRoundWallDelta => Summary.Of(Differences(CandidateWallNs, NoOpWallNs));

    private static double[] Differences(IReadOnlyList<double> candidate, IReadOnlyList<double> baseline)
    {
        var differences = new double[candidate.Count];
        for (var i = 0; i < differences.Length; i++)
            differences[i] = candidate[i] - baseline[i];
        return differences;
    }
}
