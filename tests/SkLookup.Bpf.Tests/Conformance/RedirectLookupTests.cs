using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Tests.Conformance.Programs;
using SkLookup.TestKit;
using static SkLookup.Bpf.Tests.Conformance.SuiteAddresses;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// The kernel suite's redirect scenarios (<c>test_redirect_lookup</c>): a program steers the lookup to a
/// server that listens elsewhere, possibly through a reuseport group, and an echo through the expected
/// server proves that it, and no other, got the data.
/// </summary>
public sealed class RedirectLookupTests
{
    /// <summary>One row of the suite's table.</summary>
    /// <param name="Name">The suite's description of the scenario.</param>
    /// <param name="LookupProgram">The sk_lookup program attached to the namespace.</param>
    /// <param name="ReuseportProgram">The reuseport program of the servers' group; with it there are two servers (A and B), else one (A).</param>
    /// <param name="Type">TCP (stream) or UDP (datagram).</param>
    /// <param name="ConnectTo">Where the client sends.</param>
    /// <param name="ListenAt">Where the servers are bound.</param>
    /// <param name="AcceptOn">The server that must get the data: 0 for A, 1 for B.</param>
    /// <param name="ReuseportHasConnections">Add a connected UDP socket to the reuseport group.</param>
    public sealed record Scenario(string Name, string LookupProgram, string? ReuseportProgram, SocketType Type,
        IPEndPoint ConnectTo, IPEndPoint ListenAt, int AcceptOn = 0, bool ReuseportHasConnections = false);

    private static readonly IPEndPoint Ext4 = new(ExternalIp4, ExternalPort), Ext6 = new(ExternalIp6, ExternalPort);

    /// <summary>The suite's table, row for row.</summary>
    public static IReadOnlyList<Scenario> Scenarios { get; } =
    [
        new("TCP IPv4 redir port", SuiteProgramNames.RedirPort, null, SocketType.Stream, Ext4, new(ExternalIp4, InternalPort)),
        new("TCP IPv4 redir addr", SuiteProgramNames.RedirIp4, null, SocketType.Stream, Ext4, new(InternalIp4, ExternalPort)),
        new("TCP IPv4 redir with reuseport", SuiteProgramNames.SelectSockA, SuiteProgramNames.SelectSockB, SocketType.Stream, Ext4, new(InternalIp4, InternalPort), AcceptOn: 1),
        new("TCP IPv4 redir skip reuseport", SuiteProgramNames.SelectSockANoReuseport, SuiteProgramNames.SelectSockB, SocketType.Stream, Ext4, new(InternalIp4, InternalPort), AcceptOn: 0),
        new("TCP IPv6 redir port", SuiteProgramNames.RedirPort, null, SocketType.Stream, Ext6, new(ExternalIp6, InternalPort)),
        new("TCP IPv6 redir addr", SuiteProgramNames.RedirIp6, null, SocketType.Stream, Ext6, new(InternalIp6, ExternalPort)),
        new("TCP IPv4->IPv6 redir port", SuiteProgramNames.RedirPort, null, SocketType.Stream, Ext4, new(InternalIp4MappedToIp6, InternalPort)),
        new("TCP IPv6 redir with reuseport", SuiteProgramNames.SelectSockA, SuiteProgramNames.SelectSockB, SocketType.Stream, Ext6, new(InternalIp6, InternalPort), AcceptOn: 1),
        new("TCP IPv6 redir skip reuseport", SuiteProgramNames.SelectSockANoReuseport, SuiteProgramNames.SelectSockB, SocketType.Stream, Ext6, new(InternalIp6, InternalPort), AcceptOn: 0),
        new("UDP IPv4 redir port", SuiteProgramNames.RedirPort, null, SocketType.Dgram, Ext4, new(ExternalIp4, InternalPort)),
        new("UDP IPv4 redir addr", SuiteProgramNames.RedirIp4, null, SocketType.Dgram, Ext4, new(InternalIp4, ExternalPort)),
        new("UDP IPv4 redir with reuseport", SuiteProgramNames.SelectSockA, SuiteProgramNames.SelectSockB, SocketType.Dgram, Ext4, new(InternalIp4, InternalPort), AcceptOn: 1),
        new("UDP IPv4 redir and reuseport with conns", SuiteProgramNames.SelectSockA, SuiteProgramNames.SelectSockB, SocketType.Dgram, Ext4, new(InternalIp4, InternalPort), AcceptOn: 1, ReuseportHasConnections: true),
        new("UDP IPv4 redir skip reuseport", SuiteProgramNames.SelectSockANoReuseport, SuiteProgramNames.SelectSockB, SocketType.Dgram, Ext4, new(InternalIp4, InternalPort), AcceptOn: 0),
        new("UDP IPv6 redir port", SuiteProgramNames.RedirPort, null, SocketType.Dgram, Ext6, new(ExternalIp6, InternalPort)),
        new("UDP IPv6 redir addr", SuiteProgramNames.RedirIp6, null, SocketType.Dgram, Ext6, new(InternalIp6, ExternalPort)),
        new("UDP IPv4->IPv6 redir port", SuiteProgramNames.RedirPort, null, SocketType.Dgram, Ext4, new(InternalIp4MappedToIp6, InternalPort)),
        new("UDP IPv6 redir and reuseport", SuiteProgramNames.SelectSockA, SuiteProgramNames.SelectSockB, SocketType.Dgram, Ext6, new(InternalIp6, InternalPort), AcceptOn: 1),
        new("UDP IPv6 redir and reuseport with conns", SuiteProgramNames.SelectSockA, SuiteProgramNames.SelectSockB, SocketType.Dgram, Ext6, new(InternalIp6, InternalPort), AcceptOn: 1, ReuseportHasConnections: true),
        new("UDP IPv6 redir skip reuseport", SuiteProgramNames.SelectSockANoReuseport, SuiteProgramNames.SelectSockB, SocketType.Dgram, Ext6, new(InternalIp6, InternalPort), AcceptOn: 0),
    ];

    private const int ReuseportRounds = 8;

    /// <summary>Every scenario for every program source.</summary>
    public static TheoryData<string, string> Rows => SuiteSources.Cross(Scenarios.Select(scenario => scenario.Name));

    [Theory]
    [MemberData(nameof(Rows))]
    public void RedirectLookup(string source, string scenario)
    {
        var t = Scenarios.Single(candidate => candidate.Name == scenario);
        using var network = new SuiteNetwork();
        using var suite = new LoadedSuite(source);
        using var link = suite.Attach(t.LookupProgram, network.NetNs);
        var reuseport = t.ReuseportProgram is null ? null : suite.Program(t.ReuseportProgram);
        var servers = new List<Socket>();
        try
        {
            // One server, or servers A and B in one reuseport group; each goes into redir_map at its slot.
            for (var slot = 0u; slot < (reuseport is null ? 1 : 2); slot++)
            {
                servers.Add(network.MakeServer(t.Type, t.ListenAt, reuseport));
                SuiteNetwork.AddToMap(suite.RedirMap, slot, servers[^1]);
            }
            if (t.ReuseportHasConnections)
            {
                // A connected UDP socket in the group changes how the regular lookup uses reuseport; the
                // suite checks that it does not change what the BPF lookup does. Connect it to itself.
                var connected = network.MakeServer(t.Type, t.ListenAt, reuseport);
                servers.Add(connected);
                Echo.Connect(connected, connected.LocalEndPoint!);
            }

            // Without its program, a reuseport group picks a member by a hash of the 4-tuple, so one client
            // could reach the expected server by chance; several clients (on other source ports) could not.
            var expected = servers[t.AcceptOn];
            for (var round = 0; round < (reuseport is null ? 1 : ReuseportRounds); round++)
            {
                using var client = network.MakeClient(t.Type, t.ConnectTo);
                var reached = t.Type == SocketType.Stream ? Echo.Tcp(client, expected) : Echo.Udp(network.NetNs, client, expected);

                Assert.Equal(t.ConnectTo, Unmapped(reached));
                foreach (var other in servers)
                    Assert.False(other != expected && SuiteNetwork.HasPending(other), $"{other.LocalEndPoint} got data meant for {expected.LocalEndPoint}");
            }

            // Control: nothing listens where the client sends, so without the program it is refused.
            link.Detach();
            network.AssertRefused(t.Type, t.ConnectTo);
        }
        finally
        {
            foreach (var server in servers)
                server.Dispose();
        }
    }

    /// <summary>The endpoint with a v4-mapped IPv6 address turned back into IPv4 (a dual-stack socket reports those).</summary>
    internal static IPEndPoint Unmapped(IPEndPoint endPoint) => endPoint.Address.IsIPv4MappedToIPv6
        ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port)
        : endPoint;
}
