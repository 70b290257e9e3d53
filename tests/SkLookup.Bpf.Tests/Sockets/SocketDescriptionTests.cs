using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests.Sockets;

/// <summary>Describe reads kind, state, addresses, options, namespace and cookie of real sockets.</summary>
public sealed class SocketDescriptionTests
{
    [Fact]
    public void DescribesListeningTcp4()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));

        var description = SocketDescription.Describe(listener);

        Assert.Equal(AddressFamily.InterNetwork, description.Family);
        Assert.Equal(2, description.FamilyNumber);
        Assert.Equal(SocketType.Stream, description.Type);
        Assert.Equal(ProtocolType.Tcp, description.Protocol);
        Assert.True(description.IsListening);
        Assert.False(description.IsConnected);
        Assert.False(description.IsEstablished);
        Assert.False(description.IsV6Only);
        Assert.False(description.ReusePort);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), description.LocalEndPoint);
        Assert.Null(description.RemoteEndPoint);
        Assert.Equal(netns.Namespace.Inode, description.NetNsInode);
        Assert.Equal(SocketCookie.Read(listener), description.Cookie);
        Assert.Equal($"tcp4 listen 127.0.0.1:8080 cookie {description.Cookie} netns {netns.Namespace.Inode}", description.ToString());
    }

    [Fact]
    public void DescribesV6OnlyTcp6Listener()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.IPv6Loopback, 8080), dualStack: false);

        var description = SocketDescription.Describe(listener);

        Assert.Equal(AddressFamily.InterNetworkV6, description.Family);
        Assert.Equal(10, description.FamilyNumber);
        Assert.True(description.IsListening);
        Assert.True(description.IsV6Only);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 8080), description.LocalEndPoint);
        Assert.Equal(netns.Namespace.Inode, description.NetNsInode);
        Assert.Equal($"tcp6 listen [::1]:8080 cookie {description.Cookie} netns {netns.Namespace.Inode} v6only", description.ToString());
    }

    [Fact]
    public void DescribesDualStackTcp6Listener()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.IPv6Any, 8080), dualStack: true);

        var description = SocketDescription.Describe(listener);

        Assert.Equal(AddressFamily.InterNetworkV6, description.Family);
        Assert.True(description.IsListening);
        Assert.False(description.IsV6Only);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Any, 8080), description.LocalEndPoint);
        Assert.Equal("tcp6 listen [::]:8080", description.ToString()[..("tcp6 listen [::]:8080".Length)]);
    }

    [Fact]
    public void DescribesBoundUdp()
    {
        using var netns = new TestNetNs();
        using var udp = netns.BindUdp(new IPEndPoint(IPAddress.Loopback, 5353));

        var description = SocketDescription.Describe(udp);

        Assert.Equal(SocketType.Dgram, description.Type);
        Assert.Equal(ProtocolType.Udp, description.Protocol);
        Assert.False(description.IsListening);
        Assert.False(description.IsConnected);
        Assert.False(description.IsEstablished);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5353), description.LocalEndPoint);
        Assert.Null(description.RemoteEndPoint);
        Assert.Equal(netns.Namespace.Inode, description.NetNsInode);
        Assert.Equal($"udp4 bound 127.0.0.1:5353 cookie {description.Cookie} netns {netns.Namespace.Inode}", description.ToString());
    }

    [Fact]
    public void DescribesConnectedUdp()
    {
        using var netns = new TestNetNs();
        using var udp = netns.BindUdp(new IPEndPoint(IPAddress.IPv6Loopback, 5353));
        udp.Connect(new IPEndPoint(IPAddress.IPv6Loopback, 6000));

        var description = SocketDescription.Describe(udp);

        Assert.Equal(ProtocolType.Udp, description.Protocol);
        Assert.True(description.IsConnected);
        Assert.False(description.IsEstablished);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 5353), description.LocalEndPoint);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 6000), description.RemoteEndPoint);
        Assert.StartsWith("udp6 connected [::1]:5353 -> [::1]:6000 cookie ", description.ToString());
    }

    [Fact]
    public void DescribesEstablishedTcpOnBothEnds()
    {
        using var netns = new TestNetNs();
        var listenAt = new IPEndPoint(IPAddress.Loopback, 8080);
        using var listener = netns.Listen(listenAt);
        using var client = netns.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listenAt);
        using var accepted = listener.Accept();

        var server = SocketDescription.Describe(accepted);
        var peer = SocketDescription.Describe(client);

        Assert.False(server.IsListening);
        Assert.True(server.IsConnected);
        Assert.True(server.IsEstablished);
        Assert.Equal(listenAt, server.LocalEndPoint);
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
        Assert.Equal(netns.Namespace.Inode, server.NetNsInode);
        Assert.NotEqual(SocketDescription.Describe(listener).Cookie, server.Cookie);
        Assert.True(peer.IsEstablished);
        Assert.Equal(listenAt, peer.RemoteEndPoint);
        Assert.Equal(server.RemoteEndPoint, peer.LocalEndPoint);
        Assert.StartsWith($"tcp4 established 127.0.0.1:8080 -> {client.LocalEndPoint} cookie ", server.ToString());
    }

    [Fact]
    public void DescribesReusePortSocket()
    {
        using var netns = new TestNetNs();
        using var first = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080), reusePort: true);
        using var second = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080), reusePort: true);

        var description = SocketDescription.Describe(second);

        Assert.True(description.ReusePort);
        Assert.True(description.IsListening);
        Assert.Equal($"tcp4 listen 127.0.0.1:8080 cookie {description.Cookie} netns {netns.Namespace.Inode} reuseport", description.ToString());
    }

    [Fact]
    public void DescriptorAndSocketGiveTheSameDescription()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var copy = SocketHandles.Duplicate(listener);

        Assert.Equal(SocketDescription.Describe(listener), SocketDescription.Describe(copy));
    }

    [Fact]
    public void DescribesUnixSocketWithoutInternetAddresses()
    {
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var current = NetworkNamespace.Current();

        var description = SocketDescription.Describe(unix);

        Assert.Equal(AddressFamily.Unix, description.Family);
        Assert.False(description.IsInternet);
        Assert.Null(description.LocalEndPoint);
        Assert.Equal("unix-stream", description.Kind);
        Assert.Equal(current.Inode, description.NetNsInode);
    }

    [Fact]
    public void NonSocketDescriptorIsRejectedAsWrongSocket()
    {
        using var file = FileDescriptor.OpenReadOnly("/proc/self/stat");

        var error = Assert.Throws<BpfException>(() => SocketDescription.Describe(file));

        Assert.Equal(BpfErrorReason.WrongSocket, error.Reason);
        Assert.Equal(Errno.ENOTSOCK, error.Errno);
        Assert.Contains("is not a socket", error.Message);
    }

    [Fact]
    public void DescriptorThatIsNotOpenIsRejectedAsBadFileDescriptor()
    {
        // No process can have this many descriptors open, so the number is never in use.
        using var notOpen = new FileDescriptor(int.MaxValue, ownsHandle: false);

        var error = Assert.Throws<BpfException>(() => SocketDescription.Describe(notOpen));

        Assert.Equal(BpfErrorReason.BadFileDescriptor, error.Reason);
    }

    [Fact]
    public void ToStringNamesStateEndpointsAndFlags()
    {
        var description = new SocketDescription
        {
            Family = AddressFamily.InterNetworkV6,
            FamilyNumber = 10,
            Type = SocketType.Stream,
            Protocol = ProtocolType.Tcp,
            IsConnected = true,
            IsEstablished = true,
            IsV6Only = true,
            LocalEndPoint = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 443),
            RemoteEndPoint = new IPEndPoint(IPAddress.Parse("2001:db8::2"), 50000),
            Cookie = 42,
        };

        Assert.Equal("tcp6 established [2001:db8::1]:443 -> [2001:db8::2]:50000 cookie 42 v6only", description.ToString());
        Assert.Equal("mptcp6", (description with { Protocol = (ProtocolType)262 }).Kind);
        Assert.Equal("udp4 unbound 0.0.0.0:0 cookie 7",
            new SocketDescription
            {
                Family = AddressFamily.InterNetwork, Type = SocketType.Dgram, Protocol = ProtocolType.Udp,
                LocalEndPoint = new IPEndPoint(IPAddress.Any, 0), Cookie = 7,
            }.ToString());
    }
}
