using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>
/// The samples as a user runs them: built, started with settings on the command line, in a private
/// namespace (as child processes, through nsenter), and checked from outside: UDP replies, /metrics,
/// /healthz, and the one line and exit code of each start failure the README lists.
/// </summary>
public sealed partial class SampleProcessTests
{
    [Fact]
    public async Task UdpEchoRepliesFromEveryAddressAndPortAndExportsMetricsAndHealth()
    {
        using var scenario = new HostScenario();
        scenario.Bind("echo", "udp", "192.0.2.0/24", "any");
        scenario.Bind("echo", "udp", "2001:db8::/32", "any");
        using var app = SampleApp.Start(scenario.NetNs, "UdpEcho", "--SkLookup:Label=echo", $"--SkLookup:BpfFs={scenario.BpfFs.Path}");
        await app.WaitForLine("echoing what sk_lookup steers to 127.0.0.1:5353");
        await app.WaitForLine("echoing what sk_lookup steers to [::1]:5353");

        // A connected client, to random addresses and ports: a reply from anywhere else would never arrive.
        var random = new Random(11);
        for (var i = 0; i < 40; i++)
        {
            var target = i % 2 == 0
                ? new IPEndPoint(IPAddress.Parse($"192.0.2.{random.Next(1, 255)}"), random.Next(1, 65536))
                : new IPEndPoint(IPAddress.Parse($"2001:db8::{random.Next(1, 0xffff):x}"), random.Next(1, 65536));
            using var client = scenario.NetNs.Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp).WithTimeouts();
            client.Connect(target);
            var payload = Guid.NewGuid().ToByteArray();
            client.Send(payload);
            var reply = new byte[64];
            var length = client.Receive(reply);
            Assert.Equal(payload, reply[..length]);
        }

        using var http = NetNsHttp.Client(scenario.NetNs);
        Dictionary<string, ulong> counters;
        using (var dispatcher = scenario.Open())
            counters = dispatcher.Destinations().ToDictionary(d => $"{d.Family.Name()} {d.Protocol.Name()}", d => d.Counters.Lookups);
        var metrics = await http.GetStringAsync("http://127.0.0.1:9100/metrics");
        Assert.Equal(counters["ipv4 udp"], Sample(metrics, "sklookup_lookups_total", "echo", "ipv4", "udp"));
        Assert.Equal(counters["ipv6 udp"], Sample(metrics, "sklookup_lookups_total", "echo", "ipv6", "udp"));
        Assert.Equal(20UL, counters["ipv4 udp"]);
        Assert.Equal(0UL, Sample(metrics, "sklookup_misses_total", "echo", "ipv4", "udp"));
        Assert.Equal(1UL, Sample(metrics, "sklookup_socket_registered", "echo", "ipv6", "udp"));
        Assert.Equal(1UL, Sample(metrics, "sklookup_bindings", "echo", "ipv4", "udp"));
        Assert.Matches(@"(?m)^sklookup_dispatcher_loaded(\{[^}]*\})? 1( |$)", metrics);

        var healthy = await http.GetAsync("http://127.0.0.1:9100/healthz");
        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        Assert.StartsWith("Healthy\n", await healthy.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        var unhealthy = await http.GetAsync("http://127.0.0.1:9100/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unhealthy.StatusCode);
        Assert.Contains("run 'sklookup load'", await unhealthy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // The exporter may answer from its scrape cache (300 ms by default) for a moment.
        var deadline = DateTime.UtcNow + Traffic.Timeout;
        string after;
        do
        {
            await Task.Delay(100);
            after = await http.GetStringAsync("http://127.0.0.1:9100/metrics");
        }
        while (!LoadedZero().IsMatch(after) && DateTime.UtcNow < deadline);
        Assert.Matches(LoadedZero(), after);

        Assert.Equal(0, await app.Stop());
        Assert.DoesNotContain(app.Lines, IsStackTrace);
    }

    /// <summary>The review's case: an app that only registers its own socket runs as a member of the state's group, not as root.</summary>
    [Fact]
    public async Task UdpEchoRunsAsAGroupMemberWithoutCapabilities()
    {
        using var scenario = new HostScenario(group: "4242");
        scenario.Bind("echo", "udp", "192.0.2.0/24", "any");
        using var app = SampleApp.StartAsGroupMember(scenario.NetNs, "UdpEcho", "4242", "--SkLookup:Label=echo", $"--SkLookup:BpfFs={scenario.BpfFs.Path}");
        await app.WaitForLine("echoing what sk_lookup steers to 127.0.0.1:5353");

        using var client = scenario.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp).WithTimeouts();
        client.Connect(IPEndPoint.Parse("192.0.2.77:4242"));
        client.Send("as a group member"u8);
        var reply = new byte[64];
        Assert.Equal("as a group member", System.Text.Encoding.ASCII.GetString(reply, 0, client.Receive(reply)));
        Assert.Equal(0, await app.Stop());
        Assert.DoesNotContain(app.Lines, IsStackTrace);
    }

    [Fact]
    public async Task UdpEchoTakesItsBindingsFromTheCommandLineAndItsBpfFsFromTheEnvironment()
    {
        using var scenario = new HostScenario();
        scenario.Bind("other", "udp", "192.0.2.0/24", "53"); // another app's: it stays
        using var app = SampleApp.Start(scenario.NetNs, "UdpEcho", new Dictionary<string, string> { ["SkLookup__BpfFs"] = scenario.BpfFs.Path },
            "--SkLookup:Labels:echo:Bindings:0:Protocol=udp", "--SkLookup:Labels:echo:Bindings:0:Prefix=192.0.2.0/24",
            "--SkLookup:Labels:echo:Bindings:1:Protocol=udp", "--SkLookup:Labels:echo:Bindings:1:Prefix=2001:db8::/32");
        await app.WaitForLine("applied the bindings of 'echo': added 2, removed 0");
        await app.WaitForLine("echoing what sk_lookup steers to [::1]:5353");

        foreach (var target in new[] { IPEndPoint.Parse("192.0.2.9:4242"), IPEndPoint.Parse("[2001:db8::9]:53") })
        {
            using var client = scenario.NetNs.Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp).WithTimeouts();
            client.Connect(target);
            client.Send("ping"u8);
            var reply = new byte[16];
            Assert.Equal("ping", System.Text.Encoding.ASCII.GetString(reply, 0, client.Receive(reply)));
        }
        using (var dispatcher = scenario.Open())
            Assert.Equal(3, dispatcher.Bindings().Count);
        Assert.Equal(0, await app.Stop());
    }

    public static TheoryData<string, string, int, string> Failures => new()
    {
        // sample, what is wrong, the exit code, what the one line says
        { "UdpEcho", "not loaded", 3, "run 'sklookup load'" },
        { "UdpEcho", "not bpffs", 2, "/tmp is not a bpffs mount" },
        { "UdpEcho", "port in use", 8, "cannot listen on 127.0.0.1:5353 for 'echo' (AddSteeredUdpSocket): the address is in use" },
        { "UdpEcho", "no privileges", 6, "permission denied" },
        { "UdpEcho", "another version", 4, "loaded by another version" },
        { "UdpEcho", "lock held", 5, "lock" },
        { "KestrelBehindSkLookup", "not loaded", 3, "run 'sklookup load'" },
        { "KestrelBehindSkLookup", "not bpffs", 2, "/tmp is not a bpffs mount" },
        { "KestrelBehindSkLookup", "port in use", 8, "cannot listen on 127.0.0.1:8080 for 'web' (ListenSkLookup): the address is in use" },
        { "KestrelBehindSkLookup", "no privileges", 6, "permission denied" },
        { "KestrelBehindSkLookup", "another version", 4, "loaded by another version" },
        { "KestrelBehindSkLookup", "lock held", 5, "lock" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task EachStartFailureIsOneLineAndAnExitCode(string sample, string wrong, int exitCode, string says)
    {
        using var scenario = new HostScenario(load: wrong != "not loaded");
        var label = sample == "UdpEcho" ? "echo" : "web";
        var bpffs = wrong == "not bpffs" ? "/tmp" : scenario.BpfFs.Path;
        using var taken = wrong != "port in use" ? null
            : sample == "UdpEcho" ? scenario.NetNs.BindUdp(IPEndPoint.Parse("127.0.0.1:5353")) : scenario.NetNs.Listen(IPEndPoint.Parse("127.0.0.1:8080"));
        if (wrong == "another version")
            scenario.RewriteVersionRecord(record => BitConverter.TryWriteBytes(record, 999u)); // A layout this version does not know.
        // A writer that holds the lock for longer than the app waits (a second, here).
        using var writer = wrong == "lock held" ? scenario.Open(write: true) : null;
        string[] arguments = [$"--SkLookup:Label={label}", $"--SkLookup:BpfFs={bpffs}", "--SkLookup:LockTimeout=1"];
        using var app = wrong == "no privileges" ? SampleApp.StartUnprivileged(scenario.NetNs, sample, arguments) : SampleApp.Start(scenario.NetNs, sample, arguments);

        Assert.Equal(exitCode, await app.WaitForExit());

        var critical = Assert.Single(app.Lines, line => line.Contains("crit:", StringComparison.Ordinal));
        Assert.Contains(says, critical, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(app.Lines, IsStackTrace);
        Assert.DoesNotContain(app.Lines, line => line.StartsWith("fail:", StringComparison.Ordinal) || line.Contains("Unhandled exception", StringComparison.Ordinal));
    }

    /// <summary>The value of the Prometheus sample <paramref name="name"/> for one destination, whatever other labels the exporter adds.</summary>
    private static ulong Sample(string metrics, string name, string label, string family, string protocol)
    {
        foreach (Match match in SampleLine().Matches(metrics))
        {
            if (match.Groups["name"].Value != name)
                continue;
            var labels = match.Groups["labels"].Value;
            if (labels.Contains($"label=\"{label}\"", StringComparison.Ordinal) && labels.Contains($"family=\"{family}\"", StringComparison.Ordinal) &&
                labels.Contains($"protocol=\"{protocol}\"", StringComparison.Ordinal))
                return ulong.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no {name} for {label} {family} {protocol} in:\n{metrics}");
    }

    private static bool IsStackTrace(string line) => StackFrame().IsMatch(line);

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>[0-9]+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?m)^sklookup_dispatcher_loaded(\{[^}]*\})? 0( |$)")]
    private static partial Regex LoadedZero();

    [GeneratedRegex(@"^(stderr: )?\s+at \S+\(")]
    private static partial Regex StackFrame();
}
