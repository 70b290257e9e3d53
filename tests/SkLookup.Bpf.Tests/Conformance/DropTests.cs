using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Features;
using SkLookup.Bpf.Tests.Conformance.Programs;
using SkLookup.TestKit;
using static SkLookup.Bpf.Tests.Conformance.SuiteAddresses;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// The kernel suite's drop scenarios (<c>test_drop_on_lookup</c>, <c>test_drop_on_reuseport</c>): a program
/// fails the lookup, and the client sees ECONNREFUSED: TCP from the RST, UDP from the ICMP port unreachable
/// that a connected socket reports on its next call.
/// </summary>
public sealed class DropTests
{
    /// <summary>One row of the suite's tables.</summary>
    /// <param name="Name">The suite's description of the scenario.</param>
    /// <param name="LookupProgram">The sk_lookup program attached to the namespace.</param>
    /// <param name="ReuseportProgram">For drop-on-reuseport, the program of the selected server's reuseport group.</param>
    /// <param name="Type">TCP (stream) or UDP (datagram).</param>
    /// <param name="ConnectTo">Where the client sends.</param>
    /// <param name="ListenAt">Where the server is bound.</param>
    public sealed record Scenario(string Name, string LookupProgram, string? ReuseportProgram, SocketType Type, IPEndPoint ConnectTo, IPEndPoint ListenAt);

    private static readonly IPEndPoint Ext4 = new(ExternalIp4, ExternalPort), Ext6 = new(ExternalIp6, ExternalPort);

    /// <summary>
    /// test_drop_on_lookup, including the rows for <c>check_ifindex</c> (lo is ifindex 1 in every namespace).
    /// The suite's UDP IPv6 rows put the server at INT_PORT, where a datagram to EXT_PORT is refused with or
    /// without a program; here it listens at the destination, like the other rows, so the refusal proves the drop.
    /// </summary>
    public static IReadOnlyList<Scenario> OnLookup { get; } =
    [
        new("TCP IPv4 drop on lookup", SuiteProgramNames.LookupDrop, null, SocketType.Stream, Ext4, Ext4),
        new("TCP IPv6 drop on lookup", SuiteProgramNames.LookupDrop, null, SocketType.Stream, Ext6, Ext6),
        new("UDP IPv4 drop on lookup", SuiteProgramNames.LookupDrop, null, SocketType.Dgram, Ext4, Ext4),
        new("UDP IPv6 drop on lookup", SuiteProgramNames.LookupDrop, null, SocketType.Dgram, Ext6, Ext6),
        new("TCP IPv4 drop on valid ifindex", SuiteProgramNames.CheckIfindex, null, SocketType.Stream, Ext4, Ext4),
        new("TCP IPv6 drop on valid ifindex", SuiteProgramNames.CheckIfindex, null, SocketType.Stream, Ext6, Ext6),
        new("UDP IPv4 drop on valid ifindex", SuiteProgramNames.CheckIfindex, null, SocketType.Dgram, Ext4, Ext4),
        new("UDP IPv6 drop on valid ifindex", SuiteProgramNames.CheckIfindex, null, SocketType.Dgram, Ext6, Ext6),
    ];

    /// <summary>
    /// test_drop_on_reuseport. The suite lists "TCP IPv6 drop on reuseport" twice and has no UDP IPv6 row;
    /// the fourth row here is the UDP IPv6 one it presumably meant.
    /// </summary>
    public static IReadOnlyList<Scenario> OnReuseport { get; } =
    [
        new("TCP IPv4 drop on reuseport", SuiteProgramNames.SelectSockA, SuiteProgramNames.ReuseportDrop, SocketType.Stream, Ext4, new(InternalIp4, InternalPort)),
        new("TCP IPv6 drop on reuseport", SuiteProgramNames.SelectSockA, SuiteProgramNames.ReuseportDrop, SocketType.Stream, Ext6, new(InternalIp6, InternalPort)),
        new("UDP IPv4 drop on reuseport", SuiteProgramNames.SelectSockA, SuiteProgramNames.ReuseportDrop, SocketType.Dgram, Ext4, new(InternalIp4, InternalPort)),
        new("UDP IPv6 drop on reuseport", SuiteProgramNames.SelectSockA, SuiteProgramNames.ReuseportDrop, SocketType.Dgram, Ext6, new(InternalIp6, InternalPort)),
    ];

    /// <summary>Every drop-on-lookup scenario for every program source.</summary>
    public static TheoryData<string, string> OnLookupRows => SuiteSources.Cross(OnLookup.Select(scenario => scenario.Name));

    /// <summary>Every drop-on-reuseport scenario for every program source.</summary>
    public static TheoryData<string, string> OnReuseportRows => SuiteSources.Cross(OnReuseport.Select(scenario => scenario.Name));

    [SkippableTheory]
    [MemberData(nameof(OnLookupRows))]
    public void DropOnLookup(string source, string scenario)
    {
        var t = OnLookup.Single(candidate => candidate.Name == scenario);
        if (t.LookupProgram == SuiteProgramNames.CheckIfindex)
            KernelRequirement.Require(Probe.Feature.IngressIfindex);
        using var network = new SuiteNetwork();
        using var suite = new LoadedSuite(source);
        using var link = suite.Attach(t.LookupProgram, network.NetNs);
        using var server = network.MakeServer(t.Type, t.ListenAt);

        network.AssertRefused(t.Type, t.ConnectTo);
        Assert.False(SuiteNetwork.HasPending(server), "the server got traffic that the program dropped");

        // Control: without the program, the same traffic reaches the server.
        link.Detach();
        AssertReaches(network, t, server);
    }

    [Theory]
    [MemberData(nameof(OnReuseportRows))]
    public void DropOnReuseport(string source, string scenario)
    {
        var t = OnReuseport.Single(candidate => candidate.Name == scenario);
        using var network = new SuiteNetwork();
        using var suite = new LoadedSuite(source);
        using var link = suite.Attach(t.LookupProgram, network.NetNs);
        using var selected = network.MakeServer(t.Type, t.ListenAt, suite.Program(t.ReuseportProgram!));
        SuiteNetwork.AddToMap(suite.RedirMap, ServerA, selected);
        // A server at the destination itself, which the regular lookup would find; it must never be reached.
        using var fallback = network.MakeServer(t.Type, t.ConnectTo);

        network.AssertRefused(t.Type, t.ConnectTo);
        Assert.False(SuiteNetwork.HasPending(selected), "the selected server got traffic that its reuseport program dropped");
        Assert.False(SuiteNetwork.HasPending(fallback), "the lookup fell back to the server at the destination");

        // Control: without the lookup program, the same traffic reaches the server at the destination.
        link.Detach();
        AssertReaches(network, t, fallback);
    }

    private static void AssertReaches(SuiteNetwork network, Scenario t, Socket server)
    {
        using var client = network.MakeClient(t.Type, t.ConnectTo);
        var reached = t.Type == SocketType.Stream ? Echo.Tcp(client, server) : Echo.Udp(network.NetNs, client, server);
        Assert.Equal(t.ConnectTo, reached);
    }
}
