using SkLookup.Benchmarks.Native;

namespace SkLookup.Benchmarks;

/// <summary>The command line: what to run, how long, and where to write the report.</summary>
internal sealed record BenchmarkOptions
{
    /// <summary>Shorter runs and fewer rounds, for a check that everything works (about 2 minutes).</summary>
    public bool Quick { get; init; }

    /// <summary>Run the BPF_PROG_TEST_RUN benchmark.</summary>
    public bool TestRuns { get; init; } = true;

    /// <summary>Run the flood benchmark with sender and receiver on two CPUs (the series' rx pps tables).</summary>
    public bool TwoCpuFloods { get; init; } = true;

    /// <summary>Run the flood benchmark on one CPU (exact CPU ns per packet).</summary>
    public bool OneCpuFloods { get; init; } = true;

    /// <summary>Run the series' floods (in the layouts chosen).</summary>
    public bool ServiceFloods { get; init; } = true;

    /// <summary>Run the any-port floods, dispatcher against nftables TPROXY (in the layouts chosen).</summary>
    public bool AnyPortFloods { get; init; } = true;

    /// <summary>Run the control-plane benchmark.</summary>
    public bool ControlPlane { get; init; } = true;

    /// <summary>Only the library's apply of the control-plane benchmark (at <see cref="BindingCounts"/>, or all its counts), logged, no report.</summary>
    public bool ApplyOnly { get; init; }

    /// <summary>The dispatcher's binding mixes to measure in the test runs (null: all); the other candidates always run.</summary>
    public IReadOnlySet<string>? Mixes { get; init; }

    /// <summary>From how many probes a hashed class is searched in the test runs (null: the library's threshold).</summary>
    public int? SearchThreshold { get; init; }

    /// <summary>The floods to run.</summary>
    public IReadOnlyList<LookupShape> Shapes { get; init; } = LookupShape.All;

    /// <summary>Where BENCHMARKS.md goes.</summary>
    public string Output { get; init; } = "BENCHMARKS.md";

    /// <summary>Flood rounds (each runs every configuration once).</summary>
    public int FloodRounds { get; init; }

    /// <summary>Measured seconds per two-CPU flood run (one-CPU runs take half, at least 1 s).</summary>
    public double FloodSeconds { get; init; }

    /// <summary>Test-run rounds per case.</summary>
    public int TestRunRounds { get; init; }

    /// <summary>About how long one test-run measurement takes, in ms.</summary>
    public int TestRunMilliseconds { get; init; }

    /// <summary>The binding counts to measure candidates at (null: each candidate's own); candidates without bindings always run.</summary>
    public IReadOnlySet<int>? BindingCounts { get; init; }

    /// <summary>The CPU the flood sender runs on.</summary>
    public int SourceCpu { get; init; }

    /// <summary>The CPU that processes the flood, and that runs the test runs.</summary>
    public int ReceiverCpu { get; init; }

    /// <summary>The command line as given, for the report.</summary>
    public string CommandLine { get; init; } = "";

    public const string Usage = """
        usage: SkLookup.Benchmarks [--quick] [--only testruns|floods|two-cpu|one-cpu|anyport|control|apply] [--shapes tcp4,tcp6,udp4,udp6]
                                   [--rounds N] [--seconds S] [--testrun-rounds N] [--bindings 1,200,...]
                                   [--mixes host,mixed,...] [--search-threshold N] [--source-cpu N] [--receiver-cpu N] [--output PATH]
          --quick           2 s runs, 3 flood rounds, 5 test-run rounds of 15 ms; default: 4 s runs,
                            5 flood rounds, 9 test-run rounds of 30 ms
          --bindings        measure the test-run candidates only at these binding counts (default: 1,200,10000,100000,1000000)
          --mixes           measure the dispatcher only in these binding mixes (names as in the report: host, host+any, mixed,
                            mixed+any, every length, every length+any); the floors and the series' program still run
          --search-threshold  search the prefix lengths of a hashed class from N probes on (default: the library's), to
                            compare the searched form with the probes in turn
          --only            run one part: the test runs, the floods (both layouts), one flood layout, the any-port
                            floods (dispatcher against nftables TPROXY, both layouts) or the control plane; apply: only
                            the control plane's library apply (at --bindings, default 1000,100000,1000000), logged, no report
          --output          where to write the report (default: BENCHMARKS.md in the current directory)
        Needs root: it creates network namespaces, a veth pair and BPF programs (never in the machine's own namespace).
        """;

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> with a one-line reason.</summary>
    public static BenchmarkOptions Parse(string[] args)
    {
        var quick = args.Contains("--quick");
        var cpus = CpuAffinity.AllowedCpus();
        var options = new BenchmarkOptions
        {
            Quick = quick,
            FloodRounds = quick ? 3 : 5,
            FloodSeconds = quick ? 2 : 4,
            TestRunRounds = quick ? 5 : 9,
            TestRunMilliseconds = quick ? 15 : 30,
            SourceCpu = cpus[0],
            ReceiverCpu = cpus[^1],
            CommandLine = string.Join(' ', WithoutOutput(args)),
        };
        for (var i = 0; i < args.Length; i++)
        {
            var option = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{option} needs a value");
            options = option switch
            {
                "--quick" => options,
                "--only" => Value() switch
                {
                    "testruns" => options with { TwoCpuFloods = false, OneCpuFloods = false, ControlPlane = false },
                    "floods" => options with { TestRuns = false, ControlPlane = false },
                    "two-cpu" => options with { TestRuns = false, OneCpuFloods = false, ControlPlane = false },
                    "one-cpu" => options with { TestRuns = false, TwoCpuFloods = false, ControlPlane = false },
                    "anyport" => options with { TestRuns = false, ServiceFloods = false, ControlPlane = false },
                    "control" => options with { TestRuns = false, TwoCpuFloods = false, OneCpuFloods = false },
                    "apply" => options with { TestRuns = false, TwoCpuFloods = false, OneCpuFloods = false, ControlPlane = false, ApplyOnly = true },
                    var other => throw new ArgumentException($"--only takes testruns, floods, two-cpu, one-cpu, anyport, control or apply, not '{other}'"),
                },
                "--shapes" => options with { Shapes = Value().Split(',').Select(LookupShape.Parse).ToList() },
                "--rounds" => options with { FloodRounds = PositiveInt(option, Value()) },
                "--seconds" => options with { FloodSeconds = double.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) },
                "--testrun-rounds" => options with { TestRunRounds = PositiveInt(option, Value()) },
                "--bindings" => options with { BindingCounts = Value().Split(',').Select(count => PositiveInt(option, count.Replace("_", ""))).ToHashSet() },
                "--search-threshold" => options with { SearchThreshold = PositiveInt(option, Value()) },
                "--mixes" => options with { Mixes = Value().Split(',').Select(name => name.Trim()).ToHashSet() },
                "--source-cpu" => options with { SourceCpu = Cpu(cpus, Value()) },
                "--receiver-cpu" => options with { ReceiverCpu = Cpu(cpus, Value()) },
                "--output" => options with { Output = Value() },
                "-h" or "--help" => throw new ArgumentException("help"),
                var unknown => throw new ArgumentException($"unknown option '{unknown}'"),
            };
        }
        return options;
    }

    // The report shows the command a person typed; run.sh adds --output itself.
    private static IEnumerable<string> WithoutOutput(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--output")
                i++;
            else
                yield return args[i];
        }
    }

    private static int PositiveInt(string option, string value) =>
        int.TryParse(value, out var number) && number > 0 ? number : throw new ArgumentException($"{option} takes a positive number, not '{value}'");

    private static int Cpu(IReadOnlyList<int> allowed, string value) =>
        int.TryParse(value, out var cpu) && allowed.Contains(cpu) ? cpu : throw new ArgumentException($"CPU '{value}' is not one this process may use ({string.Join(',', allowed)})");
}
