using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests;

/// <summary>SOCKMAP, SOCKHASH and REUSEPORT_SOCKARRAY hold real sockets, and hand back the cookies that SO_COOKIE reports.</summary>
public sealed class SocketMapTests
{
    private static MapSpec SocketMap(MapType type, uint keySize = 4, uint valueSize = 8) =>
        new() { Name = "sockets", Type = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = 8 };

    [Theory]
    [InlineData(MapType.SockMap)]
    [InlineData(MapType.SockHash)]
    public void ListeningTcpSocketGoesInAndItsCookieComesBack(MapType type)
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7001));
        using var map = BpfMap.Create(SocketMap(type));

        map.UpdateSocket(Keys.U32(3), listener);

        Assert.Equal(SoCookie.Of(listener), map.LookupSocketCookie(Keys.U32(3)));
        Assert.Null(map.LookupSocketCookie(Keys.U32(4)));
    }

    [Theory]
    [InlineData(MapType.SockMap)]
    [InlineData(MapType.SockHash)]
    public void BoundUdpSocketGoesIn(MapType type)
    {
        using var netns = new TestNetNs();
        using var udp = netns.BindUdp(new IPEndPoint(IPAddress.IPv6Loopback, 7002));
        using var map = BpfMap.Create(SocketMap(type));

        map.UpdateSocket(Keys.U32(0), udp);

        Assert.Equal(SoCookie.Of(udp), map.LookupSocketCookie(Keys.U32(0)));
    }

    [Theory]
    [InlineData(MapType.SockMap)]
    [InlineData(MapType.SockHash)]
    public void ClosedSocketDropsOut(MapType type)
    {
        using var netns = new TestNetNs();
        using var map = BpfMap.Create(SocketMap(type));
        using var kept = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7003));
        var closed = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7004));
        map.UpdateSocket(Keys.U32(0), kept);
        map.UpdateSocket(Keys.U32(1), closed);
        Assert.NotNull(map.LookupSocketCookie(Keys.U32(1)));

        closed.Dispose();

        Assert.Null(map.LookupSocketCookie(Keys.U32(1)));
        Assert.Equal(SoCookie.Of(kept), map.LookupSocketCookie(Keys.U32(0)));
        // A SOCKMAP walks every index, so count the slots that hold a socket.
        Assert.Single(map.Entries());
    }

    [Fact]
    public void SockHashTakesKeysOfAnySize()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7005));
        using var map = BpfMap.Create(SocketMap(MapType.SockHash, keySize: 20));
        var key = "destination-label-1"u8.ToArray().Concat(new byte[1]).ToArray();

        map.UpdateSocket(key, listener);

        Assert.Equal(SoCookie.Of(listener), map.LookupSocketCookie(key));
        Assert.Equal(key, Assert.Single(map.Keys()));
    }

    [Fact]
    public void UnboundTcpSocketIsRefusedWithAClearReason()
    {
        using var netns = new TestNetNs();
        using var unbound = netns.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var map = BpfMap.Create(SocketMap(MapType.SockMap));

        var error = Assert.Throws<BpfException>(() => map.UpdateSocket(Keys.U32(0), unbound));

        Assert.Equal(BpfErrorReason.WrongSocket, error.Reason);
        Assert.Equal(Errno.EOPNOTSUPP, error.Errno);
        Assert.Contains("listening TCP sockets and bound UDP sockets", error.Message);
    }

    [Fact]
    public void CookiesNeedEightByteValues()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7006));
        using var map = BpfMap.Create(SocketMap(MapType.SockMap, valueSize: 4));
        map.UpdateSocket(Keys.U32(0), listener);

        var error = Assert.Throws<BpfException>(() => map.LookupSocketCookie(Keys.U32(0)));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("8-byte values", error.Message);
    }

    [Fact]
    public void OnlySocketMapsTakeSockets()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7007));
        using var map = BpfMap.Create(new MapSpec { Name = "plain", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 1 });

        var error = Assert.Throws<BpfException>(() => map.UpdateSocket(Keys.U32(0), listener));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
    }

    [Theory]
    [InlineData(MapType.SockMap)]
    [InlineData(MapType.SockHash)]
    public void BatchOperationsFallBackToSingleOnes(MapType type)
    {
        using var netns = new TestNetNs();
        using var first = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7010));
        using var second = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7011));
        using var map = BpfMap.Create(SocketMap(type));
        var keys = Keys.Concat(2, i => Keys.U32((uint)i + 5));
        // A socket map takes socket fds as values and gives cookies back.
        var values = Keys.Concat(2, i => Keys.U64((ulong)(i == 0 ? first : second).Handle));

        Assert.Equal(2, map.UpdateBatch(keys, values));
        var cookies = map.LookupAll().ToDictionary(entry => Keys.ReadU32(entry.Key), entry => Keys.ReadU64(entry.Value));
        Assert.Equal(2, map.DeleteBatch(keys));

        Assert.Equal(new Dictionary<uint, ulong> { [5] = SoCookie.Of(first), [6] = SoCookie.Of(second) }, cookies);
        Assert.Empty(map.Entries());
    }

    [Fact]
    public void ReuseportSocketArrayHoldsAGroupMemberUntilItCloses()
    {
        using var netns = new TestNetNs();
        using var first = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7008), reusePort: true);
        var second = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7008), reusePort: true);
        using var map = BpfMap.Create(SocketMap(MapType.ReuseportSockArray));

        map.UpdateSocket(Keys.U32(0), first);
        map.UpdateSocket(Keys.U32(1), second);

        Assert.Equal(SoCookie.Of(first), map.LookupSocketCookie(Keys.U32(0)));
        Assert.Equal(SoCookie.Of(second), map.LookupSocketCookie(Keys.U32(1)));
        second.Dispose();
        Assert.Null(map.LookupSocketCookie(Keys.U32(1)));
        Assert.Equal(SoCookie.Of(first), map.LookupSocketCookie(Keys.U32(0)));
    }
}
