using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using SkLookup.TestKit;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests;

/// <summary>A program built with the assembler redirects real TCP connections and UDP datagrams to a socket in a SOCKMAP.</summary>
public sealed class EndToEndRedirectTests
{
    /// <summary>Redirects every lookup to the socket at key 0 of "sockets", or passes if the slot is empty.</summary>
    private static ProgramSpec RedirectAll() => new Assembler()
        .Mov(R6, R1)
        .Store(Size.Word, R10, -4, 0)
        .LoadMapPointer(R1, "sockets").Mov(R2, R10).Add(R2, -4)
        .Call(HelperFunction.MapLookupElem)
        .JumpIf(R0, JumpOp.Equal, 0, "pass")
        .Mov(R7, R0)
        .Mov(R1, R6).Mov(R2, R7).Mov(R3, 0).Call(HelperFunction.SkAssign)
        .Mov(R8, R0)
        .Mov(R1, R7).Call(HelperFunction.SkRelease)
        .JumpIf(R8, JumpOp.NotEqual, 0, "drop")
        .Label("pass").Return(SkAction.Pass)
        .Label("drop").Return(SkAction.Drop)
        .Build("redirect_all");

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
        using var program = BpfProgram.Load(RedirectAll(), new Dictionary<string, BpfMap> { ["sockets"] = sockets });
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
        using var program = BpfProgram.Load(RedirectAll(), new Dictionary<string, BpfMap> { ["sockets"] = sockets });
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
        using var program = BpfProgram.Load(RedirectAll(), new Dictionary<string, BpfMap> { ["sockets"] = sockets });
        using var link = NetNsLink.Attach(program, netns.Namespace);
        link.Detach();

        var acceptor = Traffic.ConnectAndFindAcceptor(netns, new IPEndPoint(IPAddress.Loopback, 8008), target, bystander);

        Assert.Equal(1, acceptor);
        Assert.Equal(0u, link.ReadInfo().NetNsInode);
    }
}
