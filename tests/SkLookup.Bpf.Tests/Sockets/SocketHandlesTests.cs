using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests.Sockets;

/// <summary>Raw descriptors and .NET sockets convert into each other without losing the kernel socket.</summary>
public sealed class SocketHandlesTests
{
    [Fact]
    public void DescriptorIsHandedOverToAWorkingDotNetSocket()
    {
        using var netns = new TestNetNs();
        using var original = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        var copy = SocketHandles.Duplicate(original);
        var number = copy.Value;

        using var wrapped = SocketHandles.ToSocket(copy);

        Assert.True(copy.IsClosed); // Released: the Socket closes it now.
        Assert.Equal(number, (int)wrapped.Handle);
        Assert.Equal(original.LocalEndPoint, wrapped.LocalEndPoint);
        Assert.Equal(SocketCookie.Read(original), SocketCookie.Read(wrapped));
    }

    [Fact]
    public void NonSocketDescriptorIsNotWrapped()
    {
        using var file = FileDescriptor.OpenReadOnly("/proc/self/stat");

        var error = Assert.Throws<BpfException>(() => SocketHandles.ToSocket(file));

        Assert.Equal(BpfErrorReason.WrongSocket, error.Reason);
        Assert.False(file.IsClosed);
    }

    [Fact]
    public void DuplicateOutlivesTheDotNetSocket()
    {
        using var netns = new TestNetNs();
        var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        var cookie = SocketCookie.Read(listener);
        using var copy = SocketHandles.Duplicate(listener);
        listener.Dispose();

        var description = SocketDescription.Describe(copy);

        Assert.Equal(cookie, description.Cookie);
        Assert.True(description.IsListening);
    }
}
