using System.Text;
using SkLookup.Benchmarks.Dispatching;
using SkLookup.Benchmarks.TestRuns;

namespace SkLookup.Benchmarks.Report;

/// <summary>Section 1 of BENCHMARKS.md: per-lookup cost from BPF_PROG_TEST_RUN, the floors, the dispatcher's matrix and its targets.</summary>
internal static class TestRunSection
{
    /// <summary>The dispatcher's per-lookup targets, in ns over the no-op.</summary>
    public const double HitTargetAt200 = 25, HitTargetAt1M = 35, MissTarget = 12;

    /// <summary>Finds one measured case, or null.</summary>
    public static TestRunCaseResult? Find(BenchmarkReport report, string candidate, LookupShape shape, int bindings, string lookupCase) =>
        report.TestRuns.FirstOrDefault(result => result.Candidate == candidate && result.Shape == shape && result.Bindings == bindings && result.Case == lookupCase);

    /// <summary>The dispatcher's results of one case at one size, over every shape and mix measured.</summary>
    public static List<TestRunCaseResult> Dispatcher(BenchmarkReport report, string lookupCase, int? bindings = null) =>
        report.TestRuns.Where(result => result.Candidate.StartsWith("dispatcher ", StringComparison.Ordinal) && result.Case == lookupCase &&
                                        (bindings is null || result.Bindings == bindings)).ToList();

    /// <summary>The kernel floor's Δ for <paramref name="shape"/>, or null if it was not measured.</summary>
    public static double? Floor(BenchmarkReport report, LookupShape shape) => Find(report, AssignFloorCandidate.CandidateName, shape, 0, "hit")?.DeltaKernelNs;

    public static void Render(StringBuilder text, BenchmarkReport report)
    {
        var settings = report.TestRunSettings!;
        text.AppendLine("## 1. Per-lookup cost (BPF_PROG_TEST_RUN)");
        text.AppendLine();
        text.AppendLine("**Method.** Each candidate program runs in `BPF_PROG_TEST_RUN` on a synthetic sk_lookup context with a large repeat " +
                        $"(calibrated so that one measurement takes about {settings.TargetMeasurement.TotalMilliseconds:F0} ms), alternating with a " +
                        "no-op program that returns `SK_PASS` (no-op, candidate, no-op, candidate, ...) in the same process, " +
                        $"pinned to CPU {settings.Cpu} with `sched_setaffinity`. After one unrecorded warm-up pair, {settings.Rounds} rounds are recorded. " +
                        "The cost of a lookup is the median of the candidate minus the median of the no-op, both as the kernel reports them " +
                        "(mean ns per run, an integer, with time spent rescheduled excluded); the no-op absorbs the test run's own fixed cost. " +
                        "The spread is the range of the per-round differences (candidate minus the no-op of the same round). " +
                        "Before measuring, each case is run once and its verdict and selected socket are checked, so a broken program cannot post a time.");
        text.AppendLine();
        text.AppendLine("Candidates:");
        foreach (var candidate in report.Candidates)
        {
            var counts = candidate.BindingCounts.Count == 1 && candidate.BindingCounts[0] == 0 ? "" : $" Measured with {string.Join(", ", candidate.BindingCounts.Select(c => c.ToString("N0")))} bindings.";
            text.AppendLine($"- `{candidate.Name}`: {candidate.Description}.{counts}");
        }
        text.AppendLine();
        text.AppendLine("The dispatcher's bindings are all of the looked-up traffic class (the other classes cost one compare each and are left empty). " +
                        $"One *steered* binding, {BenchmarkAddresses.ReceiverV4} (or {BenchmarkAddresses.ReceiverV6}) port {BenchmarkAddresses.ServicePort} with the mix's " +
                        "shortest prefix length, carries the hits, so that in the mixed mixes every longer probe runs, and misses, before the hit; " +
                        "the fillers lie in 10.0.0.0/8 or fd00::/8 on ports 1024 and up (or any port), on 4,095 destinations. " +
                        $"*{DispatcherCandidate.Hit}*: the steered binding's address and port, assigned to a registered listening (TCP) or bound (UDP) socket. " +
                        $"*{DispatcherCandidate.Miss}*: the same address on port {BenchmarkAddresses.UnboundPort}, which no binding names " +
                        "(the ports map rules out every specific-port probe; any-port probes still run). " +
                        $"*{DispatcherCandidate.MissBoundPort}*: {BindingSet.MissAddress(LookupShape.All[0])} (or {BindingSet.MissAddress(LookupShape.All[1])}) on port " +
                        $"{BenchmarkAddresses.ServicePort}, which a binding names but on no covering prefix: every probe of the class runs and misses. " +
                        $"Up to {SkLookup.DataPlane.DispatcherShape.InlineLimit} bindings a class is compiled into compares (no helper call), above that it is " +
                        "looked up in the program's probe table (two-choice buckets of four slots), one probe per prefix length (and port kind) present, " +
                        $"or, with {SkLookup.DataPlane.LengthSearch.Threshold} or more such probes (the every-length mixes), a binary search on the prefix lengths " +
                        "with markers, one search per port kind.");
        text.AppendLine();

        Floors(text, report);
        Targets(text, report);
        Matrix(text, report);
        Details(text, report);
    }

    private static void Floors(StringBuilder text, BenchmarkReport report)
    {
        text.AppendLine("### 1a. What every lookup pays on this machine");
        text.AppendLine();
        text.AppendLine($"This CPU's return-stack mitigation (`{Machine.MachineInfo.ReturnStackMitigationFile}`): `{report.Machine.ReturnStackMitigation}`. " +
                        "With the *Safe RET* mitigation every return in the kernel goes through a thunk, so each helper call a BPF program makes costs " +
                        "several ns more than on an unmitigated machine. A hit cannot avoid three helper calls (the SOCKMAP lookup, `bpf_sk_assign`, " +
                        "`bpf_sk_release`), so the *kernel floor* column is the least any steering program pays for a hit here; the dispatcher's own work " +
                        "is what it adds on top. All figures are ns per lookup over the no-op, except the no-op's own time per run.");
        text.AppendLine();
        text.AppendLine("| lookup | no-op, ns/run | one helper call | kernel floor: SOCKMAP lookup + sk_assign + sk_release | series LPM (200 entries), hit | series LPM, miss |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var shape in report.Options.Shapes)
        {
            var call = Find(report, "one helper call", shape, 0, "call");
            var floor = Find(report, AssignFloorCandidate.CandidateName, shape, 0, "hit");
            var hit = Find(report, "series-lpm", shape, 200, "hit");
            var miss = Find(report, "series-lpm", shape, 200, "miss");
            var noOp = floor ?? call ?? hit;
            text.AppendLine($"| {shape} | {(noOp is null ? "-" : noOp.NoOpKernel.Median.ToString("F0"))} | {Cell(call)} | {Cell(floor)} | {Cell(hit)} | {Cell(miss)} |");
        }
        text.AppendLine();
    }

    private static void Targets(StringBuilder text, BenchmarkReport report)
    {
        if (Dispatcher(report, DispatcherCandidate.Hit).Count == 0)
            return;
        text.AppendLine("### 1b. The dispatcher against its targets");
        text.AppendLine();
        text.AppendLine("Each row takes the medians of every lookup (tcp4, tcp6, udp4, udp6) and binding mix measured at that size, and gives their range; " +
                        "*above the floor* subtracts the kernel floor of the same lookup from each hit.");
        text.AppendLine();
        text.AppendLine("| target | measured, ns/lookup (min–max of medians) | above the kernel floor | met? |");
        text.AppendLine("|---|---:|---:|---|");
        TargetRow(text, report, $"hit ≤ {HitTargetAt200:F0} ns at 200 bindings", Dispatcher(report, DispatcherCandidate.Hit, 200), HitTargetAt200, hit: true);
        TargetRow(text, report, $"hit ≤ {HitTargetAt1M:F0} ns at 1,000,000 bindings", Dispatcher(report, DispatcherCandidate.Hit, 1_000_000), HitTargetAt1M, hit: true);
        TargetRow(text, report, $"miss ≤ {MissTarget:F0} ns, port no binding names (every size)", Dispatcher(report, DispatcherCandidate.Miss), MissTarget, hit: false);
        TargetRow(text, report, $"miss ≤ {MissTarget:F0} ns, port bound elsewhere (every size)", Dispatcher(report, DispatcherCandidate.MissBoundPort), MissTarget, hit: false);
        text.AppendLine();
        var seriesHit = report.TestRuns.Where(r => r.Candidate == "series-lpm" && r.Case == "hit").Select(r => r.DeltaKernelNs).ToList();
        var seriesMiss = report.TestRuns.Where(r => r.Candidate == "series-lpm" && r.Case == "miss").Select(r => r.DeltaKernelNs).ToList();
        if (seriesHit.Count > 0 && seriesMiss.Count > 0)
            text.AppendLine($"For comparison, in the same run the series' LPM program with 200 entries took {Range(seriesHit)} ns per hit and {Range(seriesMiss)} ns per miss.");
        text.AppendLine();
    }

    private static void TargetRow(StringBuilder text, BenchmarkReport report, string target, List<TestRunCaseResult> results, double limit, bool hit)
    {
        if (results.Count == 0)
        {
            text.AppendLine($"| {target} | not measured | - | - |");
            return;
        }
        var medians = results.Select(r => r.DeltaKernelNs).ToList();
        var aboveFloor = "-";
        if (hit)
        {
            var differences = results.Where(r => Floor(report, r.Shape) is not null).Select(r => r.DeltaKernelNs - Floor(report, r.Shape)!.Value).ToList();
            if (differences.Count > 0)
                aboveFloor = $"{Range(differences, signed: true)}";
        }
        var over = results.Where(r => r.DeltaKernelNs > limit).ToList();
        var met = over.Count == 0
            ? "yes"
            : $"no: {over.Count} of {results.Count} over ({string.Join(", ", over.GroupBy(r => r.Candidate["dispatcher ".Length..]).Select(g => $"{g.Key} {g.Count()}×"))})";
        text.AppendLine($"| {target} | {Range(medians)} | {aboveFloor} | {met} |");
    }

    private static void Matrix(StringBuilder text, BenchmarkReport report)
    {
        var counts = report.TestRuns.Where(r => r.Candidate.StartsWith("dispatcher ", StringComparison.Ordinal)).Select(r => r.Bindings).Distinct().Order().ToList();
        if (counts.Count == 0)
            return;
        text.AppendLine("### 1c. The dispatcher by lookup, binding mix and number of bindings");
        text.AppendLine();
        text.AppendLine("Each cell: the median Δ ns/lookup over the no-op, and the range of the per-round differences in brackets.");
        text.AppendLine();
        foreach (var (lookupCase, title) in new[]
                 {
                     (DispatcherCandidate.Hit, $"{DispatcherCandidate.Hit} (target ≤ {HitTargetAt200:F0} ns at 200, ≤ {HitTargetAt1M:F0} ns at 1,000,000)"),
                     (DispatcherCandidate.Miss, $"{DispatcherCandidate.Miss}: port {BenchmarkAddresses.UnboundPort}, no binding names it (target ≤ {MissTarget:F0} ns)"),
                     (DispatcherCandidate.MissBoundPort, $"{DispatcherCandidate.MissBoundPort}: port {BenchmarkAddresses.ServicePort} on an address no binding covers (target ≤ {MissTarget:F0} ns)"),
                 })
        {
            MatrixTable(text, report, counts, title, (shape, mix, count) => Find(report, $"dispatcher {mix.Name}", shape, count, lookupCase) is { } result
                ? $"{result.DeltaKernelNs:F0} ({result.PerRoundKernelDelta.Min:F0}–{result.PerRoundKernelDelta.Max:F0})"
                : "-");
        }
        MatrixTable(text, report, counts, "hit minus the kernel floor of the same lookup: what the dispatcher adds to the unavoidable",
            (shape, mix, count) => Find(report, $"dispatcher {mix.Name}", shape, count, DispatcherCandidate.Hit) is { } result && Floor(report, shape) is { } floor
                ? $"{result.DeltaKernelNs - floor:+0;-0;0}"
                : "-");
    }

    private static void MatrixTable(StringBuilder text, BenchmarkReport report, List<int> counts, string title, Func<LookupShape, BindingMix, int, string> cell)
    {
        text.AppendLine($"**{title}**");
        text.AppendLine();
        text.AppendLine($"| lookup | bindings | {string.Join(" | ", counts.Select(c => c.ToString("N0")))} |");
        text.AppendLine($"|---|---|{string.Concat(counts.Select(_ => "---:|"))}");
        foreach (var shape in report.Options.Shapes)
            foreach (var mix in BindingMix.All)
                text.AppendLine($"| {shape} | {mix.Name} | {string.Join(" | ", counts.Select(count => cell(shape, mix, count)))} |");
        text.AppendLine();
    }

    private static void Details(StringBuilder text, BenchmarkReport report)
    {
        text.AppendLine("<details><summary>Every measured case</summary>");
        text.AppendLine();
        text.AppendLine("*Wall-clock Δ* measures the same difference around the syscall instead: finer resolution, but it counts time the thread was " +
                        "preempted or interrupted by other work, so on a busy machine it is higher and noisier.");
        text.AppendLine();
        text.AppendLine("| candidate | lookup | bindings | case | Δ ns/lookup (median − no-op median) | per-round Δ min–max | per-round Δ IQR | candidate median ns | no-op median ns | wall-clock Δ ns | repeat | rounds |");
        text.AppendLine("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var result in report.TestRuns)
        {
            var delta = result.PerRoundKernelDelta;
            text.AppendLine($"| {result.Candidate} | {result.Shape} | {(result.Bindings == 0 ? "-" : result.Bindings.ToString("N0"))} | {result.Case} | **{result.DeltaKernelNs:F1}** | " +
                            $"{delta.Min:F0}–{delta.Max:F0} | {delta.LowerQuartile:F1}–{delta.UpperQuartile:F1} | {result.CandidateKernel.Median:F1} | " +
                            $"{result.NoOpKernel.Median:F1} | {result.DeltaWallNs:F1} | {result.Repeat:N0} | {result.Rounds} |");
        }
        text.AppendLine();
        text.AppendLine("</details>");
        text.AppendLine();
    }

    private static string Cell(TestRunCaseResult? result) =>
        result is null ? "-" : $"{result.DeltaKernelNs:F0} ({result.PerRoundKernelDelta.Min:F0}–{result.PerRoundKernelDelta.Max:F0})";

    private static string Range(IReadOnlyList<double> values, bool signed = false)
    {
        var format = signed ? "+0;-0;0" : "0";
        var min = values.Min();
        var max = values.Max();
        if (min == max)
            return min.ToString(format);
        return signed ? $"{min.ToString(format)} to {max.ToString(format)}" : $"{min.ToString(format)}–{max.ToString(format)}";
    }
}
