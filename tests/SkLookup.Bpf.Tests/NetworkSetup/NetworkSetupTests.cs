using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests;

/// <summary>The network setup a test namespace uses: its loopback interface (ioctls) and local routes (rtnetlink).</summary>
public sealed class NetworkSetupTests
{
    [Fact]
    public void CreatePrivateBringsLoopbackUp()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7500));

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, new IPEndPoint(IPAddress.Loopback, 7500), listener));
        Assert.Equal(1, netns.Run(() => Interfaces.IndexOf("lo")));
    }

    [Fact]
    public void LocalRouteMakesAWholePrefixLocal()
    {
        using var netns = new TestNetNs();
        var address = new IPEndPoint(IPAddress.Parse("192.0.2.77"), 7501);
        Assert.Throws<SocketException>(() => netns.Listen(address)); // Not local yet: EADDRNOTAVAIL.

        netns.AddLocalRoute("192.0.2.0/24");
        netns.AddLocalRoute("2001:db8::/32");
        using var v4 = netns.Listen(address);
        using var v6 = netns.Listen(new IPEndPoint(IPAddress.IPv6Any, 7502));

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, address, v4));
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, new IPEndPoint(IPAddress.Parse("2001:db8::5"), 7502), v6));
        var duplicate = Assert.Throws<BpfException>(() => netns.AddLocalRoute("192.0.2.0/24"));
        Assert.Equal(BpfErrorReason.AlreadyExists, duplicate.Reason);
    }
}
