using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using SkLookup.Bpf.Features;
using SkLookup.Bpf.Tests.Conformance.Programs;
using SkLookup.TestKit;
using static SkLookup.Bpf.Tests.Conformance.SuiteAddresses;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// The kernel suite's <c>test_sk_assign_helper</c>: programs that check bpf_sk_assign() and the context
/// from the inside, and end by selecting server B (or drop if a check failed). The suite runs them with
/// BPF_PROG_TEST_RUN on a TCP lookup from (INT_IP, INT_PORT) to (EXT_IP, EXT_PORT); here they also run
/// on a real connection between those addresses, as older versions of the suite did.
/// </summary>
public sealed class SkAssignHelperTests
{
    /// <summary>One program check.</summary>
    /// <param name="Name">The suite's description.</param>
    /// <param name="Program">The program that checks.</param>
    /// <param name="Ipv6">Run the lookup over IPv6.</param>
    public sealed record Scenario(string Name, string Program, bool Ipv6);

    /// <summary>The suite's checks that select server B.</summary>
    public static IReadOnlyList<Scenario> Scenarios { get; } =
    [
        new("sk_assign returns EEXIST", SuiteProgramNames.SkAssignEexist, Ipv6: false),
        new("sk_assign honors F_REPLACE", SuiteProgramNames.SkAssignReplaceFlag, Ipv6: false),
        new("sk_assign accepts NULL socket", SuiteProgramNames.SkAssignNull, Ipv6: false),
        new("access ctx->sk", SuiteProgramNames.AccessCtxSk, Ipv6: false),
        new("narrow access to ctx v4", SuiteProgramNames.CtxNarrowAccess, Ipv6: false),
        new("narrow access to ctx v6", SuiteProgramNames.CtxNarrowAccess, Ipv6: true),
    ];

    /// <summary>Every check for every program source.</summary>
    public static TheoryData<string, string> Rows => SuiteSources.Cross(Scenarios.Select(scenario => scenario.Name));

    /// <summary>The rejection checks, for every program source.</summary>
    public static TheoryData<string, string> RejectRows => SuiteSources.Cross(["sk_assign rejects TCP established", "sk_assign rejects UDP connected"]);

    [SkippableTheory]
    [MemberData(nameof(Rows))]
    public void SkAssignByTestRun(string source, string scenario)
    {
        KernelRequirement.Require(Probe.Feature.SkLookupTestRun);
        var t = Scenarios.Single(candidate => candidate.Name == scenario);
        using var network = new SuiteNetwork();
        using var suite = new LoadedSuite(source);
        var (a, b) = MakeServers(network, suite, t.Ipv6);
        using (a)
        using (b)
        {
            var input = new SkLookupTestInput(ProtocolType.Tcp, Internal(t.Ipv6), External(t.Ipv6));

            var result = suite.Program(t.Program).TestRun(input);

            if (SeesOldRemotePort(t))
            {
                Assert.Equal(SkAction.Drop, result.Verdict);
                Assert.Equal(0ul, result.SelectedSocketCookie);
                return;
            }
            Assert.Equal(SkAction.Pass, result.Verdict);
            Assert.NotEqual(0ul, result.SelectedSocketCookie);
            Assert.Equal(SuiteNetwork.Cookie(b), result.SelectedSocketCookie);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void SkAssignThroughTraffic(string source, string scenario)
    {
        var t = Scenarios.Single(candidate => candidate.Name == scenario);
        using var network = new SuiteNetwork();
        using var suite = new LoadedSuite(source);
        using var link = suite.Attach(t.Program, network.NetNs);
        var (a, b) = MakeServers(network, suite, t.Ipv6);
        using (a)
        using (b)
        {
            if (SeesOldRemotePort(t))
            {
                // The program drops the SYN, so the connect itself is refused and B never sees it.
                var refused = Assert.Throws<SocketException>(() => network.MakeClient(SocketType.Stream, External(t.Ipv6), bindTo: Internal(t.Ipv6)));
                Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
                Assert.False(SuiteNetwork.HasPending(b), "server B got the connection");
                return;
            }
            // Nothing listens at the external address: only the program's choice of B can accept.
            using var client = network.MakeClient(SocketType.Stream, External(t.Ipv6), bindTo: Internal(t.Ipv6));
            var reached = Echo.Tcp(client, b);

            Assert.Equal(External(t.Ipv6), reached);
            Assert.False(SuiteNetwork.HasPending(a), "server A got the connection");

            // Control: without the program, the connection is refused.
            link.Detach();
            network.AssertRefused(SocketType.Stream, External(t.Ipv6));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(RejectRows))]
    public void SkAssignRejectsConnected(string source, string scenario)
    {
        KernelRequirement.Require(Probe.Feature.SkLookupTestRun);
        var type = scenario.Contains("TCP", StringComparison.Ordinal) ? SocketType.Stream : SocketType.Dgram;
        var destination = External(ipv6: false);
        using var network = new SuiteNetwork();
        using var suite = new LoadedSuite(source);
        using var server = network.MakeServer(type, destination);
        // An established TCP socket or a connected UDP socket in redir_map, as server A.
        using var connected = network.MakeClient(type, destination);
        using var peer = type == SocketType.Stream ? AcceptFirst(server) : null;  // Keep it open: a FIN would end ESTABLISHED.
        SuiteNetwork.AddToMap(suite.RedirMap, ServerA, connected);

        // The program passes to the regular lookup only if bpf_sk_assign() said ESOCKTNOSUPPORT.
        var protocol = type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp;
        var result = suite.Program(SuiteProgramNames.SkAssignEsocknosupport).TestRun(new SkLookupTestInput(protocol, Internal(ipv6: false), destination));
        Assert.Equal(SkAction.Pass, result.Verdict);
        Assert.Equal(0ul, result.SelectedSocketCookie);

        using var link = suite.Attach(SuiteProgramNames.SkAssignEsocknosupport, network.NetNs);
        using var client = network.MakeClient(type, destination);
        var reached = type == SocketType.Stream ? Echo.Tcp(client, server) : Echo.Udp(network.NetNs, client, server);
        Assert.Equal(destination, reached);
    }

    private static Socket AcceptFirst(Socket listener)
    {
        Assert.True(listener.Poll(Traffic.Timeout, SelectMode.SelectRead), $"{listener.LocalEndPoint} got no connection");
        return listener.Accept();
    }

    /// <summary>
    /// Before Linux 5.18, <c>remote_port</c> was a u32 and a 2-byte load of its upper half (the padding
    /// since 5.18) read the port again: <c>ctx_narrow_access</c> checks that it reads 0, so there it drops.
    /// </summary>
    private static bool SeesOldRemotePort(Scenario scenario) =>
        scenario.Program == SuiteProgramNames.CtxNarrowAccess && !Probe.HasNarrowRemotePort;

    private static IPEndPoint Internal(bool ipv6) => new(ipv6 ? InternalIp6 : InternalIp4, InternalPort);

    /// <summary>Servers A and B: TCP listeners on the external address at ports of the kernel's choosing, in redir_map.</summary>
    private static (Socket A, Socket B) MakeServers(SuiteNetwork network, LoadedSuite suite, bool ipv6)
    {
        var at = new IPEndPoint(ipv6 ? ExternalIp6 : ExternalIp4, 0);
        var a = network.MakeServer(SocketType.Stream, at);
        Socket? b = null;
        try
        {
            b = network.MakeServer(SocketType.Stream, at);
            SuiteNetwork.AddToMap(suite.RedirMap, ServerA, a);
            SuiteNetwork.AddToMap(suite.RedirMap, ServerB, b);
            return (a, b);
        }
        catch
        {
            a.Dispose();
            b?.Dispose();
            throw;
        }
    }
}
