using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.TestKit;

namespace SkLookup.Tests.ControlPlane;

/// <summary>Which sockets a destination takes, and the error for each one it refuses.</summary>
public sealed class RegistrationTests
{
    private static readonly IPEndPoint Local4 = new(IPAddress.Loopback, 8080);
    private static readonly IPEndPoint Local6 = new(IPAddress.IPv6Loopback, 8080);

    [Fact]
    public void RegistersListeningTcpSocket()
    {
        using var scenario = new Scenario();
        using var socket = scenario.NetNs.Listen(Local4);
        var status = scenario.D.RegisterSocket("web", socket);
        Assert.Equal(("web", Family.IPv4, Protocol.Tcp), (status.Label, status.Family, status.Protocol));
        Assert.Equal(SocketCookie.Read(socket), status.SocketCookie);
        Assert.Equal(status, scenario.D.Destinations().Single());
    }

    [Fact]
    public void SeveralSocketsWithOneWrongRegisterNone()
    {
        using var scenario = new Scenario();
        using var good = scenario.NetNs.Listen(Local4);
        using var bad = scenario.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp); // Not listening.
        using var goodFd = new FileDescriptor((int)good.Handle, ownsHandle: false);
        using var badFd = new FileDescriptor((int)bad.Handle, ownsHandle: false);
        var error = Assert.Throws<SteeringException>(() => scenario.D.RegisterSockets("web", [goodFd, badFd]));
        Assert.Equal(SteeringError.WrongSocket, error.Error);
        Assert.Empty(scenario.D.Destinations());
    }

    [Fact]
    public void SeveralSocketsRegisterTogether()
    {
        using var scenario = new Scenario();
        using var tcp = scenario.NetNs.Listen(Local4);
        using var udp = scenario.NetNs.BindUdp(Local6);
        using var tcpFd = new FileDescriptor((int)tcp.Handle, ownsHandle: false);
        using var udpFd = new FileDescriptor((int)udp.Handle, ownsHandle: false);
        var statuses = scenario.D.RegisterSockets("web", [tcpFd, udpFd]);
        Assert.Equal([SocketCookie.Read(tcp), SocketCookie.Read(udp)], statuses.Select(s => s.SocketCookie!.Value));
        Assert.Equal(2, scenario.D.Destinations().Count);
        Assert.Null(scenario.D.InterruptedWrite);
    }

    [Fact]
    public void RegistersRawDescriptor()
    {
        using var scenario = new Scenario();
        using var socket = scenario.NetNs.BindUdp(Local6);
        var status = scenario.D.RegisterSocket("dns", new FileDescriptor((int)socket.Handle, ownsHandle: false));
        Assert.Equal((Family.IPv6, Protocol.Udp), (status.Family, status.Protocol));
        Assert.Equal(SocketCookie.Read(socket), status.SocketCookie);
    }

    [Fact]
    public void ReRegisteringReplacesTheSocket()
    {
        using var scenario = new Scenario();
        using var first = scenario.NetNs.Listen(Local4);
        using var second = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8081));
        scenario.D.RegisterSocket("web", first);
        var status = scenario.D.RegisterSocket("web", second);
        Assert.Equal(SocketCookie.Read(second), status.SocketCookie);
        Assert.Single(scenario.D.Destinations());
    }

    [Fact]
    public void UnregisterRemovesTheSocketAndTheUnusedDestination()
    {
        using var scenario = new Scenario();
        using var socket = scenario.NetNs.Listen(Local4);
        scenario.D.RegisterSocket("web", socket);
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        Assert.True(scenario.D.UnregisterSocket("web", Family.IPv4, Protocol.Tcp));
        Assert.False(scenario.D.UnregisterSocket("web", Family.IPv4, Protocol.Tcp));
        Assert.Null(scenario.D.Destinations().Single().SocketCookie); // Kept: it still has a binding.
        scenario.D.RegisterSocket("web", socket);
        Assert.True(scenario.D.RemoveBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80")));
        Assert.Single(scenario.D.Destinations()); // Kept: it still has a socket.
        Assert.True(scenario.D.UnregisterSocket("web", Family.IPv4, Protocol.Tcp));
        Assert.Empty(scenario.D.Destinations());
        Assert.False(scenario.D.UnregisterSocket("nobody", Family.IPv4, Protocol.Tcp));
    }

    [Fact]
    public void ReuseportGroupNeedsOneMember()
    {
        using var scenario = new Scenario();
        using var first = scenario.NetNs.Listen(Local4, reusePort: true);
        using var second = scenario.NetNs.Listen(Local4, reusePort: true);
        scenario.D.RegisterSocket("web", first);
        scenario.NetNs.AddLocalRoute("192.0.2.0/24");
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        // The kernel picks a member of the group for each connection; both are reachable through one registration.
        var accepted = new HashSet<int>();
        for (var i = 0; i < 64 && accepted.Count < 2; i++)
            accepted.Add(Traffic.ConnectAndFindAcceptor(scenario.NetNs, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 80), first, second));
        Assert.Equal([0, 1], accepted.Order());
    }

    [Fact]
    public void DualStackSocketServesIPv6OnlyUnlessAsked()
    {
        using var scenario = new Scenario();
        // Only a socket bound to [::] stays dual-stack: binding a specific IPv6 address sets IPV6_V6ONLY.
        using var socket = scenario.NetNs.Listen(new IPEndPoint(IPAddress.IPv6Any, 8080), dualStack: true);
        var status = scenario.D.RegisterSocket("web", socket);
        Assert.Equal(Family.IPv6, status.Family);
        Assert.Equal([Family.IPv6], scenario.D.Destinations().Select(s => s.Family));

        var both = scenario.D.RegisterSocket("web", socket, dualStack: true);
        Assert.Equal(Family.IPv4, both.Family);
        Assert.Equal([Family.IPv4, Family.IPv6], scenario.D.Destinations().Select(s => s.Family));
        Assert.All(scenario.D.Destinations(), s => Assert.Equal(SocketCookie.Read(socket), s.SocketCookie));

        // And real IPv4 traffic reaches the IPv6 socket.
        scenario.NetNs.AddLocalRoute("192.0.2.0/24");
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 80), socket));
    }

    [Fact]
    public void RefusesNonListeningTcp()
    {
        using var scenario = new Scenario();
        using var socket = scenario.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(Local4);
        AssertWrongSocket(() => scenario.D.RegisterSocket("web", socket), "not listening");
        Assert.Empty(scenario.D.Destinations());
    }

    [Fact]
    public void RefusesUnboundUdp()
    {
        using var scenario = new Scenario();
        using var socket = scenario.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        AssertWrongSocket(() => scenario.D.RegisterSocket("dns", socket), "not bound");
    }

    [Fact]
    public void RefusesConnectedUdp()
    {
        using var scenario = new Scenario();
        using var socket = scenario.NetNs.BindUdp(Local4);
        socket.Connect(new IPEndPoint(IPAddress.Loopback, 9));
        AssertWrongSocket(() => scenario.D.RegisterSocket("dns", socket), "connected");
    }

    [Fact]
    public void RefusesSocketsThatAreNotTcpOrUdp()
    {
        using var scenario = new Scenario();
        using var raw = scenario.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
        AssertWrongSocket(() => scenario.D.RegisterSocket("web", raw), "neither TCP nor UDP");
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        AssertWrongSocket(() => scenario.D.RegisterSocket("web", unix), "not an IPv4 or IPv6 socket");
        using var file = FileDescriptor.OpenReadOnly("/proc/self/status");
        AssertWrongSocket(() => scenario.D.RegisterSocket("web", file), "not a socket");
    }

    [Fact]
    public void RefusesV6OnlySocketForIPv4()
    {
        using var scenario = new Scenario();
        using var socket = scenario.NetNs.Listen(new IPEndPoint(IPAddress.IPv6Any, 8080), dualStack: false);
        AssertWrongSocket(() => scenario.D.RegisterSocket("web", socket, dualStack: true), "IPV6_V6ONLY");
        Assert.Empty(scenario.D.Destinations());
    }

    [Fact]
    public void RefusesIPv4SocketForDualStack()
    {
        using var scenario = new Scenario();
        using var socket = scenario.NetNs.Listen(Local4);
        AssertWrongSocket(() => scenario.D.RegisterSocket("web", socket, dualStack: true), "IPv4 only");
    }

    [Fact]
    public void RefusesSocketOfAnotherNamespace()
    {
        using var scenario = new Scenario();
        using var elsewhere = new TestNetNs();
        using var socket = elsewhere.Listen(Local4);
        AssertWrongSocket(() => scenario.D.RegisterSocket("web", socket), "network namespace");
    }

    private static void AssertWrongSocket(Action register, string reason)
    {
        var error = Assert.Throws<SteeringException>(register);
        Assert.Equal(SteeringError.WrongSocket, error.Error);
        Assert.Contains(reason, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
