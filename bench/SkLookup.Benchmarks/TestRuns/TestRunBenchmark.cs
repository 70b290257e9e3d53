using System.Diagnostics;
using SkLookup.Benchmarks.Native;
using SkLookup.Benchmarks.Programs;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>
/// Per-lookup cost from BPF_PROG_TEST_RUN: the candidate and a no-op program run alternately (no-op,
/// candidate, no-op, candidate, ...) with a large repeat, on one pinned CPU, and the cost of a lookup
/// is the candidate's median minus the no-op's median. The no-op absorbs the fixed cost of the test
/// run itself (context set-up, the run loop, the indirect call), which is not the program's.
/// </summary>
internal sealed class TestRunBenchmark(TestRunSettings settings, Action<string> log)
{
    /// <summary>
    /// Measures every case of every candidate on every shape, at each of the candidate's binding counts
    /// that <paramref name="includeCount"/> lets through.
    /// </summary>
    public IReadOnlyList<TestRunCaseResult> Run(IReadOnlyList<ILookupCandidate> candidates, IReadOnlyList<LookupShape> shapes, Func<int, bool> includeCount)
    {
        var results = new List<TestRunCaseResult>();
        using var pin = CpuAffinity.PinCurrentThread(settings.Cpu);
        using var noOp = NoOpProgram.Load();
        foreach (var candidate in candidates)
        {
            foreach (var shape in shapes)
            {
                foreach (var count in candidate.BindingCounts)
                {
                    if (!includeCount(count))
                        continue;
                    using var prepared = candidate.Build(count, shape);
                    if (prepared.Note is not null)
                        log($"  {candidate.Name} {shape} {count:N0} bindings: {prepared.Note}");
                    foreach (var lookup in prepared.Cases)
                    {
                        Check(candidate, shape, prepared.Program, lookup);
                        var result = Measure(candidate.Name, shape, count, lookup, noOp, prepared.Program);
                        log($"  {candidate.Name} {shape} {count:N0} {lookup.Name}: {result.DeltaKernelNs:F1} ns/lookup over the no-op " +
                            $"(per-round {result.PerRoundKernelDelta.Min:F0}..{result.PerRoundKernelDelta.Max:F0}; wall {result.DeltaWallNs:F1}), repeat {result.Repeat}");
                        results.Add(result);
                    }
                }
            }
        }
        return results;
    }

    private static void Check(ILookupCandidate candidate, LookupShape shape, BpfProgram program, LookupCase lookup)
    {
        var outcome = program.TestRun(lookup.Input);
        if (outcome.Verdict != lookup.ExpectedVerdict || outcome.SelectedSocketCookie != lookup.ExpectedCookie)
            throw new InvalidOperationException(
                $"candidate {candidate.Name} {shape} {lookup.Name}: expected {lookup.ExpectedVerdict} with socket cookie {lookup.ExpectedCookie}, " +
                $"got {outcome.Verdict} with cookie {outcome.SelectedSocketCookie}; fix the candidate before measuring it");
    }

    private TestRunCaseResult Measure(string candidate, LookupShape shape, int bindings, LookupCase lookup, BpfProgram noOp, BpfProgram program)
    {
        // Calibrate the repeat so that one candidate measurement takes about the target time.
        var probe = program.TestRun(lookup.Input, 100_000);
        var perRun = Math.Max(1, probe.MeanDurationNs);
        var repeat = (uint)Math.Clamp(settings.TargetMeasurement.TotalNanoseconds / perRun, 100_000, 20_000_000);

        // One unrecorded round warms caches and the trie's memory.
        RunOnce(noOp, lookup, repeat);
        RunOnce(program, lookup, repeat);

        var noOpKernel = new double[settings.Rounds];
        var candidateKernel = new double[settings.Rounds];
        var noOpWall = new double[settings.Rounds];
        var candidateWall = new double[settings.Rounds];
        for (var round = 0; round < settings.Rounds; round++)
        {
            (noOpKernel[round], noOpWall[round]) = RunOnce(noOp, lookup, repeat);
            (candidateKernel[round], candidateWall[round]) = RunOnce(program, lookup, repeat);
        }
        return new TestRunCaseResult(candidate, shape, bindings, lookup.Name, repeat, noOpKernel, candidateKernel, noOpWall, candidateWall);
    }

    private static (double KernelNs, double WallNs) RunOnce(BpfProgram program, LookupCase lookup, uint repeat)
    {
        var start = Stopwatch.GetTimestamp();
        var result = program.TestRun(lookup.Input, repeat);
        var elapsed = Stopwatch.GetElapsedTime(start);
        return (result.MeanDurationNs, elapsed.TotalNanoseconds / repeat);
    }
}
