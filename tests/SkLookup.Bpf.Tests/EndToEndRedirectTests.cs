using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests;

/// <summary>A program built with the assembler redirects real TCP connections and UDP datagrams to a socket in a SOCKMAP.</summary>
public sealed class EndToEndRedirectTests
{

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.2")]
    [InlineData("::1", "::1")]
    public void RedirectsTcpConnectionToSocketInSockMap(string listenAddress, string connectAddress)
    {
        using var netns = new TestNetNs();
        using var target = netns.Listen(new IPEndPoint(IPAddress.Parse(listenAddress), 7007));
        using var bystander = netns.Listen(new IPEndPoint(IPAddress.Parse(listenAddress), 8008));
        using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        sockets.UpdateSocket(BitConverter.GetBytes(0), new FileDescriptor((int)target.Handle, ownsHandle: false));
        using var program = BpfProgram.Load(TestPrograms.AssignFromSockMap("redirect_all"), new Dictionary<string, BpfMap> { ["sockets"] = sockets });
        using var link = NetNsLink.Attach(program, netns.Namespace);

        var acceptor = Traffic.ConnectAndFindAcceptor(netns, new IPEndPoint(IPAddress.Parse(connectAddress), 8008), target, bystander);

        Assert.Equal(0, acceptor);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.2")]
    [InlineData("::1", "::1")]
    public void RedirectsUdpDatagramToSocketInSockMap(string bindAddress, string sendAddress)
    {
        using var netns = new TestNetNs();
        using var target = netns.BindUdp(new IPEndPoint(IPAddress.Parse(bindAddress), 7007));
        using var bystander = netns.BindUdp(new IPEndPoint(IPAddress.Parse(bindAddress), 8008));
        using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        sockets.UpdateSocket(BitConverter.GetBytes(0), new FileDescriptor((int)target.Handle, ownsHandle: false));
        using var program = BpfProgram.Load(TestPrograms.AssignFromSockMap("redirect_all"), new Dictionary<string, BpfMap> { ["sockets"] = sockets });
        using var link = NetNsLink.Attach(program, netns.Namespace);

        var receiver = Traffic.SendAndFindReceiver(netns, new IPEndPoint(IPAddress.Parse(sendAddress), 8008), target, bystander);

        Assert.Equal(0, receiver);
    }

    [Fact]
    public void DetachedProgramNoLongerRedirects()
    {
        using var netns = new TestNetNs();
        using var target = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7007));
        using var bystander = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8008));
        using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        sockets.UpdateSocket(BitConverter.GetBytes(0), new FileDescriptor((int)target.Handle, ownsHandle: false));
        using var program = BpfProgram.Load(TestPrograms.AssignFromSockMap("redirect_all"), new Dictionary<string, BpfMap> { ["sockets"] = sockets });
        using var link = NetNsLink.Attach(program, netns.Namespace);
        link.Detach();

        var acceptor = Traffic.ConnectAndFindAcceptor(netns, new IPEndPoint(IPAddress.Loopback, 8008), target, bystander);

        Assert.Equal(1, acceptor);
        Assert.Equal(0u, link.ReadInfo().NetNsInode);
    }
}
