using System.Net;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests.Sockets;

/// <summary>The cookie read with SO_COOKIE is the one the kernel returns from a SOCKMAP.</summary>
public sealed class SocketCookieTests
{
    [Fact]
    public void CookieEqualsTheCookieReadBackFromSockMap()
    {
        using var netns = new TestNetNs();
        using var first = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var second = netns.BindUdp(new IPEndPoint(IPAddress.Loopback, 5353));
        using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 2 });
        using var firstFd = SocketHandles.Duplicate(first);
        using var secondFd = SocketHandles.Duplicate(second);
        sockets.UpdateSocket(BitConverter.GetBytes(0), firstFd);
        sockets.UpdateSocket(BitConverter.GetBytes(1), secondFd);

        Assert.Equal(sockets.LookupSocketCookie(BitConverter.GetBytes(0)), SocketCookie.Read(first));
        Assert.Equal(sockets.LookupSocketCookie(BitConverter.GetBytes(1)), SocketCookie.Read(secondFd));
        Assert.NotEqual(SocketCookie.Read(first), SocketCookie.Read(second));
    }

    [Fact]
    public void DuplicateDescriptorsShareTheCookie()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var copy = SocketHandles.Duplicate(listener);

        Assert.NotEqual((int)listener.Handle, copy.Value);
        Assert.Equal(SocketCookie.Read(listener), SocketCookie.Read(copy));
    }

    [Fact]
    public void NonSocketDescriptorIsRejectedAsWrongSocket()
    {
        using var file = FileDescriptor.OpenReadOnly("/proc/self/stat");

        var error = Assert.Throws<BpfException>(() => SocketCookie.Read(file));

        Assert.Equal(BpfErrorReason.WrongSocket, error.Reason);
        Assert.Equal(Errno.ENOTSOCK, error.Errno);
        Assert.Contains($"fd {file.Value} is not a socket", error.Message);
    }
}
