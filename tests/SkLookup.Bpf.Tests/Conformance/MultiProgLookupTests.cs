using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Tests.Conformance.Programs;
using SkLookup.TestKit;
using static SkLookup.Bpf.Tests.Conformance.SuiteAddresses;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// The kernel suite's <c>test_multi_prog_lookup</c>: two programs attached to one namespace, each marking
/// run_map when it runs. Both must always run, and their verdicts combine as the kernel documents: a
/// selection made by a program that passed wins; otherwise any drop refuses the connection; otherwise
/// the regular lookup goes on.
/// </summary>
public sealed class MultiProgLookupTests
{
    /// <summary>One row of the suite's table.</summary>
    /// <param name="Name">The suite's description.</param>
    /// <param name="First">The program attached first.</param>
    /// <param name="Second">The program attached second.</param>
    /// <param name="ListenAt">Where the one server listens; it is also server A in redir_map.</param>
    /// <param name="Refused">Whether the client's connect must fail with ECONNREFUSED.</param>
    public sealed record Scenario(string Name, string First, string Second, IPEndPoint ListenAt, bool Refused);

    private static readonly IPEndPoint Ext = new(ExternalIp4, ExternalPort), Int = new(InternalIp4, InternalPort);

    /// <summary>Every pair of pass, drop and redirect, as the suite lists them.</summary>
    public static IReadOnlyList<Scenario> Scenarios { get; } =
    [
        new("multi prog - pass, pass", SuiteProgramNames.MultiProgPass1, SuiteProgramNames.MultiProgPass2, Ext, Refused: false),
        new("multi prog - drop, drop", SuiteProgramNames.MultiProgDrop1, SuiteProgramNames.MultiProgDrop2, Ext, Refused: true),
        new("multi prog - pass, drop", SuiteProgramNames.MultiProgPass1, SuiteProgramNames.MultiProgDrop2, Ext, Refused: true),
        new("multi prog - drop, pass", SuiteProgramNames.MultiProgDrop1, SuiteProgramNames.MultiProgPass2, Ext, Refused: true),
        new("multi prog - pass, redir", SuiteProgramNames.MultiProgPass1, SuiteProgramNames.MultiProgRedir2, Int, Refused: false),
        new("multi prog - redir, pass", SuiteProgramNames.MultiProgRedir1, SuiteProgramNames.MultiProgPass2, Int, Refused: false),
        new("multi prog - drop, redir", SuiteProgramNames.MultiProgDrop1, SuiteProgramNames.MultiProgRedir2, Int, Refused: false),
        new("multi prog - redir, drop", SuiteProgramNames.MultiProgRedir1, SuiteProgramNames.MultiProgDrop2, Int, Refused: false),
        new("multi prog - redir, redir", SuiteProgramNames.MultiProgRedir1, SuiteProgramNames.MultiProgRedir2, Int, Refused: false),
    ];

    /// <summary>Every pair for every program source.</summary>
    public static TheoryData<string, string> Rows => SuiteSources.Cross(Scenarios.Select(scenario => scenario.Name));

    [Theory]
    [MemberData(nameof(Rows))]
    public void MultiProgLookup(string source, string scenario)
    {
        var t = Scenarios.Single(candidate => candidate.Name == scenario);
        using var network = new SuiteNetwork();
        using var suite = new LoadedSuite(source);
        suite.RunMap.Update(Prog1, 0);
        suite.RunMap.Update(Prog2, 0);
        using var first = suite.Attach(t.First, network.NetNs);
        using var second = suite.Attach(t.Second, network.NetNs);
        using var server = network.MakeServer(SocketType.Stream, t.ListenAt);
        SuiteNetwork.AddToMap(suite.RedirMap, ServerA, server);

        using var client = network.MakeSocket(SocketType.Stream, Ext);
        if (t.Refused)
        {
            var refused = Assert.Throws<SocketException>(() => Echo.Connect(client, Ext));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
            Assert.False(SuiteNetwork.HasPending(server), "the server got a connection that was dropped");
        }
        else
        {
            Echo.Connect(client, Ext);
            Assert.Equal(Ext, Echo.Tcp(client, server));
        }

        Assert.True(suite.RunMap.TryLookup(Prog1, out int firstRan) && firstRan == 1, "the first program did not run");
        Assert.True(suite.RunMap.TryLookup(Prog2, out int secondRan) && secondRan == 1, "the second program did not run");
    }
}
