using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using SkLookup.Cli.Tests.Fuzz;
using SkLookup.TestKit;
using Xunit.Abstractions;

namespace SkLookup.Cli.Tests.KillPoints;

/// <summary>
/// The kill-point suite (issue 13, item 3): the built tool runs each writing command as a child process with the
/// test hook SKLOOKUP_TEST_KILL_AT=N, which makes it SIGKILL itself just before its Nth state-changing step (every
/// mutating bpf(2) command, rename, mkdir and unlink), for N = 1, 2, ... until the command finishes; then a few more
/// runs are killed from outside after a random delay. After every kill it checks, in-process:
/// <list type="bullet">
/// <item><c>status</c> succeeds and lists the old binding set or the new one (never a mix), or reports "not loaded"
/// where that is the old or new state, or fails with one line naming the command that repairs it;</item>
/// <item>the program does what status says: a BPF_PROG_TEST_RUN (through the Explainer) of a packet to every binding of
/// both sets reaches the socket status names for that binding's label, or is dropped when it names none;</item>
/// <item>every destination has a binding or a socket (no orphans), and the registrations are the old ones or the
/// new ones (a register of several sockets that was cut half-way must be named by status);</item>
/// <item>no program is attached that status does not report;</item>
/// <item>the same command run again succeeds, and then status lists exactly the new set;</item>
/// <item>unload succeeds and leaves no pin, directory or attached program.</item>
/// </list>
/// Run it alone with <c>dotnet test tests/SkLookup.Cli.Tests -c Release --filter Category=KillPoints</c>. The commands
/// are split over two test classes (<see cref="KillPointTests"/>, <see cref="KillPointSwapTests"/>) so that xunit runs
/// the two halves in parallel.
/// </summary>
public abstract class KillPointSuite(ITestOutputHelper log) : IDisposable
{
    /// <summary>Kill points beyond this are a runaway sweep, not a command.</summary>
    private const int MaxSteps = 400;

    private static readonly string[] OldSet =
    [
        "web tcp 192.0.2.0/24 80",
        "web tcp 2001:db8::/64 80",
        "api udp 198.51.100.0/24 53",
        "api tcp 2001:db8:1::/64 0",
    ];

    private static readonly string[] NewSet =
    [
        "web tcp 192.0.2.0/24 80",
        "api tcp 192.0.2.128/25 80",
        "web udp 2001:db8:2::/64 53",
        "fresh tcp 203.0.113.0/24 443",
    ];

    private static readonly string BoundExtra = "fresh tcp 203.0.113.0/24 80";

    /// <summary>Bindings of a label that never has a socket (two destinations): dropped, or passed on once the label falls through.</summary>
    private static readonly string[] Quiet = ["quiet tcp 198.51.100.0/24 8080", "quiet tcp 2001:db8:9::/64 8080"];

    /// <summary>
    /// Bindings that make tcp4 a hashed class (above the inline limit of 512), so that a bind or unbind there takes the
    /// probe table in place, deciding from the binding summary, instead of swapping the program.
    /// </summary>
    private static readonly string[] Filler = [.. Enumerable.Range(0, 600).Select(i => $"fill tcp 10.9.{i / 250}.{i % 250 + 1}/32 80")];

    /// <summary>A tcp4 host binding on a probe the filler has already: a bind of it changes no code.</summary>
    private static readonly string HashedExtra = "fresh tcp 10.9.200.1/32 80";

    private readonly Sandbox _sandbox = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("sklookup-kill-").FullName;
    private readonly List<Socket> _sockets = [];
    private readonly Dictionary<(string Label, AddressFamily Family, ProtocolType Protocol), Socket> _registered = [];
    private readonly Random _random = new(13);
    private readonly Stopwatch _childTime = new();
    private readonly Stopwatch _checkTime = new();

    /// <summary>Sweeps the kill points of <paramref name="command"/>, then kills it at random instants, checking after each.</summary>
    protected void Sweep(string command)
    {
        var scenario = Scenario(command);
        var failures = new List<string>();
        var killed = 0;
        var clean = Stopwatch.StartNew();
        int steps;
        var duration = TimeSpan.Zero;
        for (steps = 1; steps <= MaxSteps; steps++)
        {
            scenario.Setup();
            var timer = Stopwatch.StartNew();
            var result = RunChild(scenario.Arguments, killAt: steps, killAfter: null);
            duration = timer.Elapsed;
            if (!result.Killed)
            {
                // The command finished before step N: every step boundary was a kill point.
                if (result.ExitCode != 0)
                    failures.Add($"{command}: the unkilled run failed: {result}");
                Check(scenario, $"{command} (not killed)", failures, killedRun: false);
                break;
            }
            killed++;
            Check(scenario, $"{command} killed before step {steps} ({result.Step})", failures, killedRun: true);
        }
        Assert.True(steps <= MaxSteps, $"{command} did not finish within {MaxSteps} kill points");
        var sweepTime = clean.Elapsed;

        // Random instants: killed from outside after a delay within the time the unkilled run took.
        var randomTrials = Math.Min(FuzzBudget.Trials(3), 6); // Each trial is a child process and a full check: a few seconds.
        for (var i = 0; i < randomTrials; i++)
        {
            scenario.Setup();
            var delay = TimeSpan.FromMilliseconds(_random.NextDouble() * duration.TotalMilliseconds);
            var result = RunChild(scenario.Arguments, killAt: null, killAfter: delay);
            Check(scenario, $"{command} killed after {delay.TotalMilliseconds:0} ms ({(result.Killed ? "killed" : "finished")})", failures, killedRun: result.Killed);
        }

        var trials = killed + 1 + randomTrials;
        log.WriteLine($"{command}: {killed} kill points, {randomTrials} random kills, {failures.Count} failures, sweep {sweepTime.TotalSeconds:0.0} s (children {_childTime.Elapsed.TotalSeconds:0.0} s, checks {_checkTime.Elapsed.TotalSeconds:0.0} s)");
        foreach (var failure in failures)
            log.WriteLine(failure);
        FuzzBudget.Record("kill-points", $"{command}: {scenario.Description}", trials, failures.Count,
            $"SIGKILL before each of its {killed} state-changing steps (SKLOOKUP_TEST_KILL_AT=1..{killed}), one unkilled run, and {randomTrials} runs killed from outside after a random delay within an unkilled run's {duration.TotalMilliseconds:0} ms; after each: status, test runs of every binding of both sets, orphan and registration checks, the command again, unload");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    // ---------------------------------------------------------------- scenarios

    /// <param name="FallThrough">Where label options change too: the labels that fall through in each acceptable state, in its order.</param>
    private sealed record Case(string Description, Action Setup, string[] Arguments, IReadOnlyList<string[]?> Acceptable, string[]? Final,
        bool MayRepeatNotFound = false, IReadOnlyList<string[]>? FallThrough = null);

    private Case Scenario(string command)
    {
        var applyNew = WriteSet("new.json", NewSet);
        switch (command)
        {
            case "load":
                return new Case("load into an empty bpffs", Unloaded, ["load"], [null, []], []);
            case "unload":
                return new Case("unload a dispatcher with 4 bindings and 8 sockets", Standard, ["unload"], [OldSet, null], null);
            case "apply":
                return new Case("apply a set that keeps 1, adds 3 (one for a label without sockets) and removes 3 bindings of 4, IPv4 and IPv6", Standard, ["apply", applyNew], [OldSet, NewSet], NewSet);
            case "apply-options":
                return new Case("apply a new set that makes a label without sockets fall through, so its options must change with the bindings",
                    () => Standard([.. OldSet, .. Quiet]), ["apply", WriteSet("new-options.json", [.. NewSet, .. Quiet], """{"quiet": {"fallThrough": true}}""")],
                    [[.. OldSet, .. Quiet], [.. NewSet, .. Quiet]], [.. NewSet, .. Quiet], FallThrough: [[], ["quiet"]]);
            case "label":
                return new Case("label set --fall-through for a label without sockets, with two destinations", () => Standard([.. OldSet, .. Quiet]),
                    ["label", "set", "quiet", "--fall-through"], [[.. OldSet, .. Quiet], [.. OldSet, .. Quiet]], [.. OldSet, .. Quiet], FallThrough: [[], ["quiet"]]);
            case "bind":
                return new Case("bind a binding of a new label (a new destination) to 4 bindings", Standard, ["bind", .. BoundExtra.Split(' ')], [OldSet, [.. OldSet, BoundExtra]], [.. OldSet, BoundExtra]);
            case "unbind":
                return new Case("unbind one of 4 bindings", Standard, ["unbind", .. OldSet[1].Split(' ')], [OldSet, [.. OldSet.Where(b => b != OldSet[1])]], [.. OldSet.Where(b => b != OldSet[1])], MayRepeatNotFound: true);
            case "bind-hashed":
                return new Case("bind into a hashed class of 600 bindings (in place, from the binding summary)", Hashed, ["bind", .. HashedExtra.Split(' ')],
                    [[.. OldSet, .. Filler], [.. OldSet, .. Filler, HashedExtra]], [.. OldSet, .. Filler, HashedExtra]);
            case "unbind-hashed":
                return new Case("unbind one of a hashed class of 600 bindings (in place, from the binding summary)", Hashed, ["unbind", .. Filler[7].Split(' ')],
                    [[.. OldSet, .. Filler], [.. OldSet, .. Filler.Where(b => b != Filler[7])]], [.. OldSet, .. Filler.Where(b => b != Filler[7])], MayRepeatNotFound: true);
            case "register":
                return new Case("register-pid --dual-stack over a label's separate IPv4 and IPv6 sockets", Standard,
                    ["register-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "web", "tcp", "::", "7090", "--dual-stack"], [OldSet], OldSet);
            case "upgrade":
                {
                    // Upgrade finishes what a crash left: here a bind killed just before its last step.
                    var bindSteps = StepsOf(["bind", .. BoundExtra.Split(' ')]);
                    return new Case($"upgrade that finishes a bind killed before its last step ({bindSteps})", () =>
                    {
                        Standard();
                        var killedBind = RunChild(["bind", .. BoundExtra.Split(' ')], killAt: bindSteps, killAfter: null);
                        Assert.True(killedBind.Killed, killedBind.ToString());
                    }, ["upgrade"], [OldSet, [.. OldSet, BoundExtra]], [.. OldSet, BoundExtra]);
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(command));
        }
    }

    /// <summary>How many state-changing steps <paramref name="arguments"/> takes from the standard state.</summary>
    private int StepsOf(string[] arguments)
    {
        // Killed at N or not is monotone in N: search for the first N at which the command finishes.
        int low = 1, high = 64;
        while (low < high)
        {
            var middle = (low + high) / 2;
            Standard();
            if (RunChild(arguments, killAt: middle, killAfter: null).Killed)
                low = middle + 1;
            else
                high = middle;
        }
        return low - 1;
    }

    private void Unloaded()
    {
        _sandbox.Run("unload").AssertOk();
    }

    /// <summary>Loaded, with the old set applied and a TCP and a UDP socket of each family registered for web and api.</summary>
    private void Standard() => Standard(OldSet);

    /// <summary>As <see cref="Standard()"/>, with the filler that makes tcp4 a hashed class.</summary>
    private void Hashed() => Standard([.. OldSet, .. Filler]);

    private void Standard(string[] set)
    {
        _sandbox.Run("unload").AssertOk();
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("apply", WriteSet(set.Length == OldSet.Length ? "old.json" : "old-hashed.json", set)).AssertOk();
        if (_registered.Count == 0)
        {
            var port = 7001;
            foreach (var label in new[] { "web", "api" })
            {
                foreach (var (family, loopback) in new[] { (AddressFamily.InterNetwork, IPAddress.Loopback), (AddressFamily.InterNetworkV6, IPAddress.IPv6Loopback) })
                {
                    _registered[(label, family, ProtocolType.Tcp)] = Keep(_sandbox.NetNs.Listen(new IPEndPoint(loopback, port)));
                    _registered[(label, family, ProtocolType.Udp)] = Keep(_sandbox.NetNs.BindUdp(new IPEndPoint(loopback, port + 1)));
                }
                port += 2;
            }
            Keep(_sandbox.NetNs.Listen(new IPEndPoint(IPAddress.IPv6Any, 7090), dualStack: true));
        }
        using var netns = NetworkNamespace.Open(_sandbox.NetNsPath);
        using var dispatcher = Dispatcher.Open(netns, _sandbox.BpfFs.Path, write: true);
        foreach (var ((label, _, _), socket) in _registered)
            dispatcher.RegisterSocket(label, socket);
    }

    private Socket Keep(Socket socket)
    {
        _sockets.Add(socket);
        return socket;
    }

    private string WriteSet(string name, IEnumerable<string> set, string? labels = null)
    {
        var path = Path.Combine(_directory, name);
        var entries = set.Select(text => text.Split(' ')).Select(p =>
            $$"""{"label": "{{p[0]}}", "protocol": "{{p[1]}}", "prefix": "{{p[2]}}", "port": {{p[3]}}}""");
        var labelsField = labels is null ? "" : $$""", "labels": {{labels}}""";
        File.WriteAllText(path, $$"""{"bindings": [{{string.Join(", ", entries)}}]{{labelsField}}}""");
        return path;
    }

    // ---------------------------------------------------------------- checks

    private void Check(Case scenario, string what, List<string> failures, bool killedRun)
    {
        _checkTime.Start();
        try
        {
            CheckAll(scenario, what, failures, killedRun);
        }
        finally
        {
            _checkTime.Stop();
        }
    }

    private void CheckAll(Case scenario, string what, List<string> failures, bool killedRun)
    {
        var before = failures.Count;
        try
        {
            CheckState(scenario, what, failures, killedRun);
        }
        catch (Exception exception)
        {
            failures.Add($"{what}: the check threw {exception}");
        }
        if (failures.Count > before)
            return;
        // The next write: the same command again succeeds (an unbind that happened may say it is gone), then status is the new state.
        var again = _sandbox.Run(scenario.Arguments);
        if (again.ExitCode != 0 && !(scenario.MayRepeatNotFound && again.ExitCode == 7))
        {
            failures.Add($"{what}: the command again failed: {again}");
            return;
        }
        var final = ReadStatus();
        if (!SameSet(final.Bindings, scenario.Final))
            failures.Add($"{what}: after the command again, status lists {Describe(final.Bindings)}, expected {Describe(scenario.Final)}");
        var unload = _sandbox.Run("unload");
        if (unload.ExitCode != 0)
            failures.Add($"{what}: unload failed: {unload}");
        var root = Path.Combine(_sandbox.BpfFs.Path, "sklookup");
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
            failures.Add($"{what}: unload left {string.Join(", ", Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName))}");
        if (_sandbox.NetNs.Namespace.QueryPrograms().Count != 0)
            failures.Add($"{what}: unload left {_sandbox.NetNs.Namespace.QueryPrograms().Count} program(s) attached");
    }

    private void CheckState(Case scenario, string what, List<string> failures, bool killedRun)
    {
        var status = ReadStatus();
        // After status: a reader that finds an interrupted write finishes it, which may swap the program.
        var attached = _sandbox.NetNs.Namespace.QueryPrograms();
        if (status.Failure is { } failure)
        {
            // A state that status cannot show must name the one command that repairs it, and nothing else is accepted.
            if (!failure.Contains("unload", StringComparison.Ordinal) && !failure.Contains("run load", StringComparison.Ordinal))
                failures.Add($"{what}: status failed without naming a repair: {failure}");
            return;
        }
        if (status.Bindings is null)
        {
            if (!scenario.Acceptable.Any(set => set is null))
                failures.Add($"{what}: status says not loaded, which is neither the old state nor the new");
            if (attached.Count != 0)
                failures.Add($"{what}: status says not loaded, and {attached.Count} program(s) are attached");
            return;
        }
        var states = Enumerable.Range(0, scenario.Acceptable.Count).Where(i => scenario.Acceptable[i] is { } set && SameSet(status.Bindings, set)).ToList();
        if (states.Count == 0)
            failures.Add($"{what}: status lists {Describe(status.Bindings)}: neither the old set nor the new");
        else if (scenario.FallThrough is { } fallThrough)
        {
            // The label options belong to the state they were set in: old options with new bindings, or a label whose
            // destinations disagree, is a mix.
            var listed = status.Destinations.Where(d => d.FallThrough).Select(d => d.Label).Distinct().Order(StringComparer.Ordinal).ToList();
            foreach (var label in listed.Where(label => status.Destinations.Any(d => d.Label == label && !d.FallThrough)))
                failures.Add($"{what}: some destinations of '{label}' fall through and some do not");
            if (!states.Any(state => listed.SequenceEqual(fallThrough[state].Order(StringComparer.Ordinal))))
                failures.Add($"{what}: status lists {Describe(status.Bindings)} with fall-through for [{string.Join(", ", listed)}], which is neither the old state nor the new");
        }
        if (attached.Count != 1 || attached[0] != status.ProgramId)
            failures.Add($"{what}: attached programs [{string.Join(", ", attached)}], status reports program {status.ProgramId}");
        foreach (var orphan in status.Destinations.Where(d => d.Bindings == 0 && d.Cookie is null))
            failures.Add($"{what}: destination {orphan.Label} {orphan.Family} {orphan.Protocol} has neither bindings nor a socket (an orphan)");

        // The registrations: web's TCP sockets are both the old ones or both the dual-stack one.
        var web4 = status.Destinations.FirstOrDefault(d => d is { Label: "web", Family: "ipv4", Protocol: "tcp" })?.Cookie;
        var web6 = status.Destinations.FirstOrDefault(d => d is { Label: "web", Family: "ipv6", Protocol: "tcp" })?.Cookie;
        if (_registered.TryGetValue(("web", AddressFamily.InterNetwork, ProtocolType.Tcp), out var socket4)
            && _registered.TryGetValue(("web", AddressFamily.InterNetworkV6, ProtocolType.Tcp), out var socket6))
        {
            var oldPair = web4 == SocketCookie(socket4) && web6 == SocketCookie(socket6);
            var newPair = web4 == web6;
            if (!oldPair && !newPair && !(status.Interrupted ?? "").Contains("run that register again", StringComparison.Ordinal))
                failures.Add($"{what}: web tcp is registered to cookies {web4} (IPv4) and {web6} (IPv6), a mix that status does not name");
        }
        if (killedRun && status.Interrupted is { } note)
            log.WriteLine($"{what}: status: interrupted write: {note}");

        // The program does what status says, for every binding of either set: a test run of each attached program
        // (only the dispatcher is), as the Explainer runs them, without its walk for the socket's owner.
        var programs = attached.Select(BpfProgram.OpenById).ToList();
        try
        {
            CheckPrograms(status, programs, what, failures);
        }
        finally
        {
            foreach (var program in programs)
                program.Dispose();
        }
    }

    private static void CheckPrograms(StatusView status, List<BpfProgram> programs, string what, List<string> failures)
    {
        foreach (var text in OldSet.Concat(NewSet).Append(BoundExtra).Append(HashedExtra).Append(Filler[7]).Append(Filler[0]).Concat(Quiet).Distinct())
        {
            var probe = ParseBinding(text);
            var address = First(probe.Prefix);
            var port = probe.Port == 0 ? (ushort)8081 : probe.Port;
            var listed = BindingTable.Lookup(status.Bindings!.Select(ParseBinding).ToList(), probe.Protocol, address, port);
            var source = address.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Parse("203.0.113.254") : IPAddress.Parse("2001:db8:ffff::fe");
            var input = new SkLookupTestInput(probe.Protocol == Protocol.Tcp ? ProtocolType.Tcp : ProtocolType.Udp, new IPEndPoint(source, 40000), new IPEndPoint(address, port));
            ulong selected = 0;
            var dropped = false;
            foreach (var program in programs)
            {
                var result = program.TestRun(input);
                if (result.Verdict == SkAction.Pass && result.SelectedSocketCookie != 0)
                    selected = result.SelectedSocketCookie;
                else if (result.Verdict == SkAction.Drop)
                    dropped = true;
            }
            string expected, actual;
            if (listed is null)
                expected = "normal lookup";
            else
            {
                var family = address.AddressFamily == AddressFamily.InterNetwork ? "ipv4" : "ipv6";
                var destination = status.Destinations.FirstOrDefault(d => d.Label == listed.Label && d.Family == family && d.Protocol == listed.Protocol.Name());
                expected = destination?.Cookie is { } c ? $"delivered to {c}" : destination?.FallThrough == true ? "normal lookup" : "dropped";
            }
            actual = selected != 0 ? $"delivered to {selected}" : dropped ? "dropped" : "normal lookup";
            if (expected != actual)
                failures.Add($"{what}: {probe.Protocol.Name()} to {address} port {port}: status says {expected} ({listed?.ToString() ?? "no binding"}), the program: {actual}");
        }
    }

    private static IPAddress First(IPNetwork prefix)
    {
        var bytes = prefix.BaseAddress.GetAddressBytes();
        bytes[^1] |= 1;
        return new IPAddress(bytes);
    }

    private static ulong SocketCookie(Socket socket)
    {
        using var descriptor = SocketHandles.Duplicate(socket);
        return SocketDescription.Describe(descriptor).Cookie;
    }

    private sealed record DestinationView(string Label, string Family, string Protocol, int Bindings, ulong? Cookie, bool FallThrough);

    private sealed record StatusView(string? Failure, string[]? Bindings, uint ProgramId, List<DestinationView> Destinations, string? Interrupted);

    private StatusView ReadStatus()
    {
        var result = _sandbox.Run("status", "--json", "--all", "--no-owners");
        if (result.ExitCode == 3)
            return new StatusView(null, null, 0, [], null);
        if (result.ExitCode != 0)
            return new StatusView(result.Error.Trim(), null, 0, [], null);
        var json = result.Json();
        var bindings = json.GetProperty("bindings").EnumerateArray()
            .Select(b => $"{b.GetProperty("label").GetString()} {b.GetProperty("protocol").GetString()} {b.GetProperty("prefix").GetString()} {b.GetProperty("port").GetInt32()}")
            .ToArray();
        var destinations = json.GetProperty("destinations").EnumerateArray().Select(d => new DestinationView(
            d.GetProperty("label").GetString()!, d.GetProperty("family").GetString()!, d.GetProperty("protocol").GetString()!,
            d.GetProperty("bindings").GetInt32(),
            d.GetProperty("socketCookie").ValueKind == JsonValueKind.Null ? null : d.GetProperty("socketCookie").GetUInt64(),
            d.GetProperty("fallThrough").GetBoolean())).ToList();
        var interrupted = json.TryGetProperty("interruptedWrite", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
        return new StatusView(null, bindings, json.GetProperty("program").GetProperty("id").GetUInt32(), destinations, interrupted);
    }

    private static bool SameSet(string[]? actual, string[]? expected) =>
        actual is null || expected is null
            ? actual is null && expected is null
            : actual.Select(Normal).Order(StringComparer.Ordinal).SequenceEqual(expected.Select(Normal).Order(StringComparer.Ordinal));

    private static string Normal(string text) => ParseBinding(text).ToString();

    private static Binding ParseBinding(string text)
    {
        var p = text.Split(' ');
        return Binding.Parse(p[0], p[1], p[2], p[3]);
    }

    private static string Describe(string[]? set) => set is null ? "not loaded" : $"[{string.Join("; ", set)}]";

    // ---------------------------------------------------------------- the child

    private sealed record ChildResult(bool Killed, int ExitCode, string Step, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}{(Killed ? $" (killed: {Step})" : "")}; stderr: {Error.Trim()}; stdout: {Output.Trim()}";
    }

    private ChildResult RunChild(string[] arguments, int? killAt, TimeSpan? killAfter)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SkLookup.Cli.dll"));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.ArgumentList.Add("--netns");
        start.ArgumentList.Add(_sandbox.NetNsPath);
        start.ArgumentList.Add("--bpffs");
        start.ArgumentList.Add(_sandbox.BpfFs.Path);
        start.Environment.Remove("SKLOOKUP_TEST_KILL_AT");
        if (killAt is { } n)
            start.Environment["SKLOOKUP_TEST_KILL_AT"] = n.ToString(CultureInfo.InvariantCulture);
        _childTime.Start();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var killedFromOutside = false;
        if (killAfter is { } delay && !process.WaitForExit(delay))
        {
            process.Kill();
            killedFromOutside = true;
        }
        if (!process.WaitForExit(TestTiming.Scale(TimeSpan.FromMinutes(2))))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"sklookup {string.Join(' ', arguments)} did not finish");
        }
        process.WaitForExit();
        _childTime.Stop();
        var stderr = error.Result;
        const string marker = "killed before step ";
        var at = stderr.IndexOf(marker, StringComparison.Ordinal);
        var step = at < 0 ? "" : stderr[(at + marker.Length)..].Split('\n')[0];
        return new ChildResult(killedFromOutside || at >= 0, process.ExitCode, killedFromOutside ? "from outside" : step, output.Result, stderr);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        GC.SuppressFinalize(this);
        foreach (var socket in _sockets)
            socket.Dispose();
        try
        {
            _sandbox.Run("unload");
        }
        finally
        {
            _sandbox.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
