using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using SkLookup.DataPlane;
using SkLookup.TestKit;

namespace SkLookup.Tests.ControlPlane;

/// <summary>Real packets through a dispatcher set up with the control plane, and the counters they leave.</summary>
public sealed class TrafficTests
{
    [Fact]
    public void SteersTcpAndUdpOfBothFamilies()
    {
        using var scenario = new Scenario();
        scenario.NetNs.AddLocalRoute("192.0.2.0/24");
        scenario.NetNs.AddLocalRoute("2001:db8::/32");
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var web6 = scenario.NetNs.Listen(new IPEndPoint(IPAddress.IPv6Loopback, 8080));
        using var dns = scenario.NetNs.BindUdp(new IPEndPoint(IPAddress.Loopback, 5353));
        using var dns6 = scenario.NetNs.BindUdp(new IPEndPoint(IPAddress.IPv6Loopback, 5353));
        using var bystander = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 80));
        var d = scenario.D;
        foreach (var socket in new[] { web, web6 })
            d.RegisterSocket("web", socket);
        foreach (var socket in new[] { dns, dns6 })
            d.RegisterSocket("dns", socket);
        d.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        d.AddBinding(Scenario.B("web", "tcp", "2001:db8::/64", "80"));
        d.AddBinding(Scenario.B("dns", "udp", "192.0.2.0/24", "53"));
        d.AddBinding(Scenario.B("dns", "udp", "2001:db8::/64", "53"));

        // The binding overrides even a listener on that very address and port.
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.1:80"), web, bystander));
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("[2001:db8::9]:80"), web6));
        Assert.Equal(0, Traffic.SendAndFindReceiver(scenario.NetNs, IPEndPoint.Parse("192.0.2.200:53"), dns));
        Assert.Equal(0, Traffic.SendAndFindReceiver(scenario.NetNs, IPEndPoint.Parse("[2001:db8::1:2]:53"), dns6));

        var counters = d.Destinations().ToDictionary(s => $"{s.Label} {s.Family.Name()} {s.Protocol.Name()}", s => s.Counters);
        Assert.Equal(1ul, counters["web ipv4 tcp"].Lookups);
        Assert.Equal(1ul, counters["dns ipv6 udp"].Lookups);
        Assert.All(counters.Values, c => Assert.Equal((0ul, 0ul), (c.Misses, c.Errors)));
    }

    [Fact]
    public void RealConnectionsFollowThePrecedence()
    {
        using var scenario = new Scenario();
        scenario.NetNs.AddLocalRoute("192.0.2.0/24");
        scenario.NetNs.AddLocalRoute("198.51.100.0/24");
        var sockets = new[] { "host", "net24", "wide", "anyport" }
            .Select((label, i) => (label, socket: scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 9000 + i)))).ToList();
        try
        {
            foreach (var (label, socket) in sockets)
                scenario.D.RegisterSocket(label, socket);
            scenario.D.AddBinding(Scenario.B("host", "tcp", "192.0.2.7", "80"));
            scenario.D.AddBinding(Scenario.B("net24", "tcp", "192.0.2.0/24", "80"));
            scenario.D.AddBinding(Scenario.B("anyport", "tcp", "192.0.2.0/24", "any"));
            scenario.D.AddBinding(Scenario.B("wide", "tcp", "192.0.0.0/16", "80"));
            var listeners = sockets.Select(s => s.socket).ToArray();
            string Receiver(string destination) => sockets[Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse(destination), listeners)].label;
            Assert.Equal("host", Receiver("192.0.2.7:80"));       // the longest prefix
            Assert.Equal("net24", Receiver("192.0.2.8:80"));      // a specific port beats any port on an equal prefix
            Assert.Equal("anyport", Receiver("192.0.2.8:8080"));
            Assert.Equal("anyport", Receiver("192.0.2.7:81"));    // the /32 is for port 80 only
            var refused = Assert.Throws<SocketException>(() => Receiver("198.51.100.1:80")); // nothing bound there, nothing listening
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
        finally
        {
            foreach (var (_, socket) in sockets)
                socket.Dispose();
        }
    }

    [Fact]
    public void DropsWithoutSocketAndFallsThroughWhenAsked()
    {
        using var scenario = new Scenario();
        scenario.NetNs.AddLocalRoute("192.0.2.0/24");
        using var listener = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 80));
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));

        var refused = Assert.Throws<SocketException>(() => Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.1:80"), listener));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        scenario.D.SetFallThrough("web", true);
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.1:80"), listener));
        Assert.Equal(2ul, scenario.D.Destinations().Single().Counters.Misses);
    }

    [Fact]
    public void CountsLookupsMissesAndErrors()
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        d.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        d.AddBinding(Scenario.B("web", "tcp", "2001:db8::/64", "80"));
        for (var i = 0; i < 3; i++)
            Assert.Equal(SkAction.Drop, scenario.Run(Protocol.Tcp, "192.0.2.1", 80).Verdict);
        Assert.Equal(SkAction.Pass, scenario.Run(Protocol.Tcp, "192.0.2.1", 81).Verdict); // No binding: not counted.

        // A socket the kernel refuses for IPv4 (v6-only), forced into the slot past the registration checks.
        using var v6only = scenario.NetNs.Listen(new IPEndPoint(IPAddress.IPv6Loopback, 8080));
        var v4 = d.Destinations().Single(s => s.Family == Family.IPv4);
        d.Map(DispatcherLayout.Sockets.Name).UpdateSocket(BitConverter.GetBytes(v4.Id), new FileDescriptor((int)v6only.Handle, ownsHandle: false));
        for (var i = 0; i < 2; i++)
            Assert.Equal(SkAction.Drop, scenario.Run(Protocol.Tcp, "192.0.2.1", 80).Verdict);

        d.RegisterSocket("web", v6only);
        Assert.Equal(SkAction.Pass, scenario.Run(Protocol.Tcp, "2001:db8::1", 80).Verdict);

        var counters = d.Destinations().ToDictionary(s => s.Family, s => s.Counters);
        Assert.Equal((5ul, 3ul, 2ul), (counters[Family.IPv4].Lookups, counters[Family.IPv4].Misses, counters[Family.IPv4].Errors));
        Assert.Equal((1ul, 0ul, 0ul), (counters[Family.IPv6].Lookups, counters[Family.IPv6].Misses, counters[Family.IPv6].Errors));
    }

    [Fact]
    public void ReusedDestinationIdStartsWithZeroCounters()
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        d.AddBinding(Scenario.B("old", "tcp", "192.0.2.0/24", "80"));
        scenario.Run(Protocol.Tcp, "192.0.2.1", 80);
        var oldId = d.Destinations().Single().Id;
        Assert.True(d.RemoveBinding(Scenario.B("old", "tcp", "192.0.2.0/24", "80")));
        d.AddBinding(Scenario.B("new", "tcp", "192.0.2.0/24", "80"));
        var status = d.Destinations().Single();
        Assert.Equal((oldId, "new", 0ul), (status.Id, status.Label, status.Counters.Lookups));
    }
}
