using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>Reading socket addresses as getsockname returns them (the traffic tests prove it on steered connections).</summary>
public sealed class SteeredAddressTests
{
    [Fact]
    public void ParsesIPv4()
    {
        byte[] sockaddrIn = [2, 0, 0, 80, 192, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(IPEndPoint.Parse("192.0.2.7:80"), SteeredAddress.Parse(sockaddrIn));
    }

    [Fact]
    public void ParsesIPv6WithScopeAndUnmapsIPv4()
    {
        var sockaddrIn6 = new byte[28];
        sockaddrIn6[0] = 10;
        sockaddrIn6[2] = 0x1f;
        sockaddrIn6[3] = 0x90;
        IPAddress.Parse("fe80::1").GetAddressBytes().CopyTo(sockaddrIn6, 8);
        BitConverter.GetBytes(3u).CopyTo(sockaddrIn6, 24);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("fe80::1%3"), 8080), SteeredAddress.Parse(sockaddrIn6));

        IPAddress.Parse("::ffff:192.0.2.7").GetAddressBytes().CopyTo(sockaddrIn6, 8);
        BitConverter.GetBytes(0u).CopyTo(sockaddrIn6, 24);
        Assert.Equal(IPEndPoint.Parse("192.0.2.7:8080"), SteeredAddress.Parse(sockaddrIn6));
    }

    [Fact]
    public void RefusesOtherFamilies()
    {
        byte[] sockaddrUn = [1, 0, (byte)'/', 0];
        Assert.Null(SteeredAddress.Parse(sockaddrUn));
    }

    [Fact]
    public void ReadsABoundSocketAndSaysNullForAClosedOne()
    {
        // Nothing steers in this namespace, so the kernel reports the bound address.
        using var netns = new TestNetNs();
        var socket = netns.BindUdp(new IPEndPoint(IPAddress.Loopback, 5353));
        Assert.Equal(socket.LocalEndPoint, SteeredAddress.Of(socket));
        socket.Dispose();
        Assert.Null(SteeredAddress.Of(socket));
    }
}
