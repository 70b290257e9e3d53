using System.Text;
using SkLookup.Benchmarks.ControlPlane;
using SkLookup.Benchmarks.Statistics;

namespace SkLookup.Benchmarks.Report;

/// <summary>Section 3 of BENCHMARKS.md: applying bindings, the kernel memory they take, and one <c>sklookup bind</c>.</summary>
internal static class ControlPlaneSection
{
    /// <summary>The targets: 100,000 bindings applied in under 1 s, 1,000,000 in under 10 s; from the tool, at most 1.3 times the library's time and 600 MiB.</summary>
    public const double Apply100kTargetSeconds = 1, Apply1MTargetSeconds = 10, CliApplyRatioTarget = 1.3, CliApplyRssTargetMiB = 600;

    /// <summary>The target for <c>sklookup status</c> and <c>sklookup bindings</c> on that many bindings: an answer within a second.</summary>
    public const double ReaderTargetSeconds = 1;

    public static void Render(StringBuilder text, BenchmarkReport report)
    {
        var results = report.ControlPlane!;
        text.AppendLine("## 3. Control plane");
        text.AppendLine();
        text.AppendLine("Everything here runs in a network namespace and on a bpffs instance of the benchmark's own (a fresh mount on a temporary " +
                        "directory), never in the machine's namespace or under /sys/fs/bpf.");
        text.AppendLine();
        Applies(text, results);
        CliApplies(text, results);
        Cli(text, results);
    }

    private static void Applies(StringBuilder text, ControlPlaneResults results)
    {
        var mix = ControlPlaneBenchmark.ApplyMix;
        text.AppendLine("### 3a. Applying bindings");
        text.AppendLine();
        text.AppendLine("Each repetition loads a dispatcher into the empty namespace (`Dispatcher.Load`), applies N bindings with " +
                        "`Dispatcher.ReplaceBindings(bindings, dryRun: false)` (timed: the diff against the current state, the binding maps, the ports " +
                        "map, the new program with its probe tables, and the link update that swaps it in), then applies the same set again with one binding " +
                        "replaced (timed again), and unloads. The bindings are spread evenly over tcp4, tcp6, udp4 and udp6, on 4,096 labels, with " +
                        $"{mix.Describe(false)} (IPv6: {mix.Describe(true)}). Times are wall-clock, in the benchmark's own process; generating the bindings is not " +
                        "timed, and the first repetition of the first size also pays for JIT-compiling the control plane's code. *The program alone* " +
                        "is the part of an apply that builds the new program, timed apart outside the control plane for the same bindings: deriving the " +
                        "dispatcher's shape, placing the probe tables, generating the code, and the kernel's verification and load (classes of up to " +
                        $"{SkLookup.DataPlane.DispatcherShape.InlineLimit} bindings become compare trees in the code, larger ones probe tables). " +
                        "*`Dispatcher.Load`* creates the empty state (maps, pins, an empty program, the link).");
        text.AppendLine();
        text.AppendLine($"| bindings | apply, s (median, min–max) | target | apply again with one changed, s | the program alone, s | `Dispatcher.Load`, s | repetitions |");
        text.AppendLine("|---:|---:|---|---:|---:|---:|---:|");
        foreach (var apply in results.Applies)
        {
            var target = apply.Bindings switch
            {
                100_000 => Verdict(apply.Apply.Median, Apply100kTargetSeconds, "s"),
                1_000_000 => Verdict(apply.Apply.Median, Apply1MTargetSeconds, "s"),
                _ => "-",
            };
            text.AppendLine($"| {apply.Bindings:N0} | **{apply.Apply.Median:F3}** ({apply.Apply.Min:F3}–{apply.Apply.Max:F3}) | {target} | " +
                            $"{apply.Reapply.Median:F3} ({apply.Reapply.Min:F3}–{apply.Reapply.Max:F3}) | {Summary.MedianOf(apply.ProgramSeconds):F3} | " +
                            $"{Summary.MedianOf(apply.LoadSeconds):F3} | {apply.ApplySeconds.Count} |");
        }
        text.AppendLine();

        var unpinned = results.Applies.SelectMany(apply => apply.Memory).Where(item => !item.Pinned).Select(item => $"`{item.Name}`").Distinct().ToList();
        text.AppendLine("**Kernel memory.** After the first apply of the last repetition: the `memlock` that `/proc/self/fdinfo` reports for every map " +
                        $"pinned in the dispatcher's state directory, for the maps only the program holds ({(unpinned.Count == 0 ? "none here" : string.Join(", ", unpinned))}, " +
                        "found through the attached program's map ids), and for the program itself. Hash maps without preallocation grow with their " +
                        "entries; arrays are charged in full when created. MiB = 2²⁰ bytes.");
        text.AppendLine();
        var names = results.Applies.SelectMany(apply => apply.Memory).Select(item => (item.Name, item.Kind, item.Pinned)).Distinct().ToList();
        text.AppendLine($"| object | type | pinned | {string.Join(" | ", results.Applies.Select(apply => $"{apply.Bindings:N0} bindings"))} |");
        text.AppendLine($"|---|---|---|{string.Concat(results.Applies.Select(_ => "---:|"))}");
        foreach (var (name, kind, pinned) in names)
        {
            var cells = results.Applies.Select(apply => apply.Memory.FirstOrDefault(item => item.Name == name) is { } item ? Mebibytes(item.Bytes) : "-");
            text.AppendLine($"| {name} | {kind} | {(pinned ? "yes" : "no, the program's")} | {string.Join(" | ", cells)} |");
        }
        text.AppendLine($"| **total** | | | {string.Join(" | ", results.Applies.Select(apply => $"**{Mebibytes(apply.TotalBytes)}**"))} |");
        text.AppendLine($"| per binding | | | {string.Join(" | ", results.Applies.Select(apply => $"{apply.TotalBytes / (double)apply.Bindings:N0} bytes"))} |");
        text.AppendLine();
    }

    private static void CliApplies(StringBuilder text, ControlPlaneResults results)
    {
        if (results.CliApplies.Count == 0)
            return;
        var library = results.Applies[^1];
        var count = results.CliApplies[0].Bindings;
        text.AppendLine("### 3b. `sklookup apply` of a file, next to the library");
        text.AppendLine();
        text.AppendLine($"The same {count:N0} bindings as the last row of 3a, written to a bindings file ({results.CliApplies.Max(r => r.FileBytes) / 1048576.0:F0} MiB of JSON, one " +
                        "entry per binding with its protocol and port), applied by `sklookup apply FILE --netns /proc/PID/fd/N --bpffs MOUNT` to a " +
                        "freshly loaded dispatcher, run as a new process under GNU time: the wall-clock time from start to exit (runtime start-up, reading " +
                        "and parsing the file, the apply, printing the diff's summary, exit), the CPU time, and the peak resident set size. *Library* is " +
                        $"3a's median `ReplaceBindings` for these bindings, built in memory: {library.Apply.Median:F3} s. The targets: at most " +
                        $"{CliApplyRatioTarget:0.#} times the library's time, and at most {CliApplyRssTargetMiB:F0} MiB.");
        text.AppendLine();
        text.AppendLine("| form | wall, s (median, min–max) | × library | target | CPU, s | peak RSS, MiB | target | runs |");
        text.AppendLine("|---|---:|---:|---|---:|---:|---|---:|");
        foreach (var result in results.CliApplies)
        {
            if (result.Missing is not null)
            {
                text.AppendLine($"| {result.Form} | - | - | not measured: {result.Missing} | - | - | - | 0 |");
                continue;
            }
            var wall = result.Wall;
            var ratio = wall.Median / library.Apply.Median;
            var rss = Summary.MedianOf(result.PeakRssKiB) / 1024;
            text.AppendLine($"| {result.Form} | **{wall.Median:F2}** ({wall.Min:F2}–{wall.Max:F2}) | {ratio:F2} | {Verdict(ratio, CliApplyRatioTarget, "×", inclusive: true)} | " +
                            $"{Summary.MedianOf(result.CpuSeconds):F2} | **{rss:F0}** | {Verdict(rss, CliApplyRssTargetMiB, "MiB", inclusive: true)} | {result.Seconds.Count} |");
        }
        text.AppendLine();
        text.AppendLine($"After each apply, the same form ran `sklookup status` and `sklookup bindings` on the {count:N0} bindings, as a new process " +
                        $"(their default output: a summary and the first entries). The target: an answer within {ReaderTargetSeconds:0} s.");
        text.AppendLine();
        text.AppendLine("| form | `status`, s (median, min–max) | target | `bindings`, s (median, min–max) | target |");
        text.AppendLine("|---|---:|---|---:|---|");
        foreach (var result in results.CliApplies.Where(result => result.Missing is null && result.StatusSeconds is { Count: > 0 }))
        {
            var status = Summary.Of(result.StatusSeconds!);
            var listing = Summary.Of(result.BindingsSeconds!);
            text.AppendLine($"| {result.Form} | **{status.Median:F2}** ({status.Min:F2}–{status.Max:F2}) | {Verdict(status.Median, ReaderTargetSeconds, "s", inclusive: true)} | " +
                            $"**{listing.Median:F2}** ({listing.Min:F2}–{listing.Max:F2}) | {Verdict(listing.Median, ReaderTargetSeconds, "s", inclusive: true)} |");
        }
        text.AppendLine();
    }

    private static void Cli(StringBuilder text, ControlPlaneResults results)
    {
        var binding = string.Join(' ', ControlPlaneBenchmark.CliBinding);
        text.AppendLine("### 3c. One `sklookup bind` from the command line");
        text.AppendLine();
        text.AppendLine($"`sklookup bind {binding} --netns /proc/PID/fd/N --bpffs MOUNT`, started as a new process by the benchmark, against a dispatcher " +
                        $"holding {results.BindingsForCli} tcp4 bindings (host prefixes), so that the new tcp4 binding makes the command generate, load and " +
                        "swap in a new program. The time is wall-clock from process start to exit, taken as a shell takes it (`posix_spawnp`, then " +
                        "`waitpid`, the output going to a file; not .NET's Process class, whose pipes and reader tasks in the benchmark's own process " +
                        "added several ms to every run), the whole command: runtime start-up, argument " +
                        "parsing, opening the state and its lock, the map writes and the program swap. The benchmark removes the binding again between " +
                        $"runs, so every run starts from the same {results.BindingsForCli} bindings. Each form runs twice untimed first (so that its files " +
                        $"are in the page cache), then {results.CliRuns} times. The forms are the ones bench/run.sh builds: the dotnet tool as " +
                        "`dotnet tool install` installs it from scripts/publish-cli.sh's packages (.NET 10's RID-specific tool: the native AOT package on " +
                        "linux-x64, the framework-dependent one elsewhere), the Release build of src/SkLookup.Cli (what the framework-dependent package " +
                        "holds), and scripts/publish-cli.sh's self-contained single file (the native AOT binary, which is one self-contained file, where " +
                        "native AOT builds), its trimmed ReadyToRun single file (the form it builds without a C toolchain) and its native AOT binary. " +
                        "The targets: at most " +
                        $"{CliForm.AotTargetMilliseconds:F0} ms with native AOT, {CliForm.ToolTargetMilliseconds:F0} ms with the dotnet tool, and the single " +
                        "file no slower than the dotnet tool. The last row times the same work without a new process, in the benchmark's own: " +
                        "`Dispatcher.Open(netns, bpffs, write: true)`, `AddBinding`, `Dispose`.");
        text.AppendLine();
        var tool = results.Cli.FirstOrDefault(timing => timing.Form == CliForm.ToolName && timing.Milliseconds.Count > 0);
        text.AppendLine("| form | median, ms | min–max, ms | IQR, ms | target | runs |");
        text.AppendLine("|---|---:|---:|---:|---|---:|");
        foreach (var timing in results.Cli)
        {
            if (timing.InProcess)
            {
                var work = Summary.Of(timing.Milliseconds);
                text.AppendLine($"| {timing.Form} | {work.Median:F1} | {work.Min:F1}–{work.Max:F1} | {work.LowerQuartile:F1}–{work.UpperQuartile:F1} | " +
                                $"(no process: the command's work alone) | {work.Count} |");
                continue;
            }
            if (timing.Missing is not null)
            {
                text.AppendLine($"| {timing.Form} | - | - | - | not measured: {timing.Missing} | 0 |");
                continue;
            }
            var summary = Summary.Of(timing.Milliseconds);
            var target = timing.TargetMilliseconds is { } ms
                ? Verdict(summary.Median, ms, "ms", inclusive: true)
                : timing.Form == CliForm.SingleFileName && tool is not null
                    ? SingleFileVerdict(summary, Summary.Of(tool.Milliseconds))
                    : "-";
            text.AppendLine($"| {timing.Form} | **{summary.Median:F1}** | {summary.Min:F1}–{summary.Max:F1} | {summary.LowerQuartile:F1}–{summary.UpperQuartile:F1} | " +
                            $"{target} | {summary.Count} |");
        }
        text.AppendLine();
    }

    /// <summary>
    /// The single file against the dotnet tool: no slower means a median at most the tool's, or within the tool's own
    /// interquartile range, where the two are the same binary and only the run-to-run spread tells them apart.
    /// </summary>
    private static string SingleFileVerdict(Summary singleFile, Summary tool) =>
        singleFile.Median > tool.Median && singleFile.Median <= tool.UpperQuartile
            ? $"≤ {tool.Median:0.##} ms (the dotnet tool's): met, within the tool's interquartile range ({tool.LowerQuartile:0.#}–{tool.UpperQuartile:0.#} ms)"
            : Verdict(singleFile.Median, tool.Median, "ms (the dotnet tool's)", inclusive: true);

    /// <summary>"met" or "missed" with the margin.</summary>
    public static string Verdict(double measured, double target, string unit, bool inclusive = false) =>
        (inclusive ? measured <= target : measured < target)
            ? $"{(inclusive ? "≤" : "<")} {target:0.##} {unit}: met"
            : $"{(inclusive ? "≤" : "<")} {target:0.##} {unit}: **missed** by {measured - target:0.##} {unit}";

    private static string Mebibytes(long bytes) => $"{bytes / 1048576.0:F2} MiB";
}
