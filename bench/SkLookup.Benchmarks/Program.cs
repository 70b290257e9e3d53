// The SkLookup benchmarks: per-lookup cost from BPF_PROG_TEST_RUN, and the sk_lookup series' rx pps
// tables under floods between two private network namespaces. Writes BENCHMARKS.md. Run it through
// bench/run.sh, which installs what it needs and builds it in Release.
using SkLookup.Benchmarks;
using SkLookup.Benchmarks.ControlPlane;
using SkLookup.Benchmarks.Flood;
using SkLookup.Benchmarks.Machine;
using SkLookup.Benchmarks.Report;
using SkLookup.Benchmarks.TestRuns;

static void Log(string line) => Console.WriteLine($"{DateTime.Now:HH:mm:ss} {line}");

if (args.Length > 0 && args[0] == "single-change")
{
    if (Environment.UserName != "root")
    {
        Console.Error.WriteLine("benchmarks: run as root: they load BPF programs and create network namespaces");
        return 2;
    }
    // One bind and unbind at 1,000 to 2^20 bindings, on its own: a table on stdout, no report.
    Log($"single change; load {MachineInfo.LoadAverageNow()}");
    return SingleChangeBenchmark.Run(args[1..], Environment.CurrentDirectory, Log);
}

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (ArgumentException exception)
{
    if (exception.Message != "help")
        Console.Error.WriteLine($"benchmarks: {exception.Message}");
    Console.Error.WriteLine(BenchmarkOptions.Usage);
    return 2;
}
if (Environment.UserName != "root")
{
    Console.Error.WriteLine("benchmarks: run as root: they load BPF programs and create network namespaces (as root: bench/run.sh)");
    return 2;
}

var started = DateTimeOffset.UtcNow;
var clock = System.Diagnostics.Stopwatch.StartNew();
var machine = MachineInfo.Read();
Log($"{machine.CpuModel}, {machine.OnlineCpus} CPUs, {machine.MemoryGiB:F1} GiB, {machine.Kernel}; load {machine.LoadAverage}");
if (options.SourceCpu == options.ReceiverCpu)
    Log($"only CPU {options.SourceCpu} is available: in the two-CPU floods the sender and the receiver share it, and those numbers mean less");

try
{
    TestRunSettings? testRunSettings = null;
    IReadOnlyList<TestRunCaseResult> testRuns = [];
    if (options.TestRuns)
    {
        testRunSettings = new TestRunSettings(options.ReceiverCpu, options.TestRunRounds, TimeSpan.FromMilliseconds(options.TestRunMilliseconds));
        Log($"1. per-lookup cost: {LookupCandidates.All.Count} candidate(s), {testRunSettings.Rounds} rounds, pinned to CPU {testRunSettings.Cpu}");
        if (options.SearchThreshold is { } threshold)
            SkLookup.Benchmarks.Dispatching.DispatcherFixture.SearchThreshold = threshold;
        var candidates = LookupCandidates.All.Where(candidate => options.Mixes is null || candidate is not DispatcherCandidate dispatcher || options.Mixes.Contains(dispatcher.Mix.Name)).ToList();
        testRuns = new TestRunBenchmark(testRunSettings, Log).Run(candidates, options.Shapes,
            count => count == 0 || options.BindingCounts is null || options.BindingCounts.Contains(count));
    }

    var floods = new List<FloodResults>();
    var anyPortFloods = new List<FloodResults>();
    var serviceTargets = options.ServiceFloods ? options.Shapes.Select(FloodTarget.Service).ToList() : [];
    var anyPortTargets = options.AnyPortFloods ? options.Shapes.Where(shape => !shape.IsIPv6).Select(FloodTarget.AnyPort).ToList() : [];
    var settle = TimeSpan.FromSeconds(0.5);
    var warmup = TimeSpan.FromSeconds(1);
    var layouts = new List<FloodSettings>();
    if (options.TwoCpuFloods)
        layouts.Add(new FloodSettings(FloodLayout.TwoCpus, options.ReceiverCpu, options.SourceCpu, options.FloodRounds,
            TimeSpan.FromSeconds(options.FloodSeconds), settle, warmup));
    if (options.OneCpuFloods)
        layouts.Add(new FloodSettings(FloodLayout.OneCpu, options.SourceCpu, options.SourceCpu, options.FloodRounds,
            TimeSpan.FromSeconds(Math.Max(1, options.FloodSeconds / 2)), settle, warmup));
    foreach (var settings in layouts)
    {
        if (serviceTargets.Count > 0)
        {
            var total = serviceTargets.Count * (settings.Warmup + settings.Rounds * FloodConfigurations.All.Count * (settings.Settle + settings.Duration));
            Log($"2. floods, {settings.Layout}: {serviceTargets.Count} flood(s) × {FloodConfigurations.All.Count} configurations × {settings.Rounds} rounds of " +
                $"{settings.Duration.TotalSeconds:F0} s, about {total.TotalMinutes:F1} minutes; sender on CPU {settings.SourceCpu}, receive path on CPU {settings.ReceiverCpu}");
            floods.Add(new FloodBenchmark(settings, Log).Run(serviceTargets, FloodConfigurations.All));
        }
        if (anyPortTargets.Count > 0)
        {
            Log($"4. any port to one socket, {settings.Layout}: {anyPortTargets.Count} flood(s) × {AnyPortConfigurations.All.Count} configurations × {settings.Rounds} rounds");
            anyPortFloods.Add(new FloodBenchmark(settings, Log).Run(anyPortTargets, AnyPortConfigurations.All));
        }
    }

    if (options.ApplyOnly)
    {
        var counts = ControlPlaneBenchmark.ApplyCounts.Where(count => options.BindingCounts is null || options.BindingCounts.Contains(count)).ToList();
        Log($"3. control plane, apply only: {string.Join(", ", counts.Select(count => count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)))} bindings; no report is written");
        new ControlPlaneBenchmark(Environment.CurrentDirectory, options.Quick, Log).RunApplies(counts);
        Log($"done; load {MachineInfo.LoadAverageNow()}");
        return 0;
    }

    ControlPlaneResults? controlPlane = null;
    if (options.ControlPlane)
    {
        Log("3. control plane: apply 1,000, 100,000 and 1,000,000 bindings; one sklookup bind per form of the tool");
        controlPlane = new ControlPlaneBenchmark(Environment.CurrentDirectory, options.Quick, Log).Run();
    }

    var report = new BenchmarkReport(options, machine, started, clock.Elapsed, MachineInfo.LoadAverageNow(), testRunSettings, testRuns, LookupCandidates.All,
        floods, FloodConfigurations.All, anyPortFloods, controlPlane);
    File.WriteAllText(options.Output, MarkdownReport.Render(report));
    Log($"wrote {Path.GetFullPath(options.Output)}");
    return 0;
}
catch (Exception exception)
{
    Console.Error.WriteLine($"benchmarks: {exception.Message}");
    Console.Error.WriteLine(exception.StackTrace);
    return 1;
}
