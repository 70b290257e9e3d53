using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using SkLookup.TestKit;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests;

/// <summary>SK_REUSEPORT programs attached to a SO_REUSEPORT group pick the member socket, also after sk_lookup chose the group.</summary>
public sealed class ReuseportProgramTests
{
    /// <summary>Selects the socket at key 0 of the REUSEPORT_SOCKARRAY "group".</summary>
    private static ProgramSpec SelectKeyZero(AttachType attachType) => new Assembler()
        .Mov(R6, R1)
        .Store(Size.Word, R10, -4, 0)
        .Mov(R1, R6)
        .LoadMapPointer(R2, "group")
        .Mov(R3, R10).Add(R3, -4)
        .Mov(R4, 0)
        .Call(HelperFunction.SkSelectReuseport)
        .JumpIf(R0, JumpOp.NotEqual, 0, "drop")
        .Return(SkAction.Pass)
        .Label("drop").Return(SkAction.Drop)
        .Build("pick_zero", ProgramType.SkReuseport, attachType);

    private static BpfMap GroupMap() =>
        BpfMap.Create(new MapSpec { Name = "group", Type = MapType.ReuseportSockArray, KeySize = 4, ValueSize = 8, MaxEntries = 4 });

    [Theory]
    [InlineData(AttachType.SkReuseportSelect)]
    [InlineData(AttachType.SkReuseportSelectOrMigrate)]
    public void ProgramPicksTheGroupMember(AttachType attachType)
    {
        using var netns = new TestNetNs();
        var endPoint = new IPEndPoint(IPAddress.Loopback, 7400);
        using var first = netns.Listen(endPoint, reusePort: true);
        using var second = netns.Listen(endPoint, reusePort: true);
        using var group = GroupMap();
        group.UpdateSocket(Keys.U32(0), second);
        using (var program = BpfProgram.Load(SelectKeyZero(attachType), new Dictionary<string, BpfMap> { ["group"] = group }))
        {
            Assert.Equal(ProgramType.SkReuseport, program.Info.Type);
            program.AttachToReuseportGroup(first); // The group holds its own reference to the program.
        }

        // Without the program, the group would spread connections by hash; with it, all go to "second".
        for (var i = 0; i < 8; i++)
            Assert.Equal(1, Traffic.ConnectAndFindAcceptor(netns, endPoint, first, second));
    }

    [Fact]
    public void SkLookupHandsTheLookupToTheReuseportProgram()
    {
        using var netns = new TestNetNs();
        var groupEndPoint = new IPEndPoint(IPAddress.Loopback, 7401);
        using var first = netns.Listen(groupEndPoint, reusePort: true);
        using var second = netns.Listen(groupEndPoint, reusePort: true);
        using var bystander = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7402));
        using var group = GroupMap();
        group.UpdateSocket(Keys.U32(0), second);
        using var reuseport = BpfProgram.Load(SelectKeyZero(AttachType.SkReuseportSelectOrMigrate), new Dictionary<string, BpfMap> { ["group"] = group });
        reuseport.AttachToReuseportGroup(second);
        // sk_lookup selects "first" without BPF_SK_LOOKUP_F_NO_REUSEPORT, so its group decides.
        using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        sockets.UpdateSocket(Keys.U32(0), first);
        using var lookup = BpfProgram.Load(TestPrograms.AssignFromSockMap("assign_group"), new Dictionary<string, BpfMap> { ["sockets"] = sockets });
        using var link = NetNsLink.Attach(lookup, netns.Namespace);

        var acceptor = Traffic.ConnectAndFindAcceptor(netns, new IPEndPoint(IPAddress.Loopback, 7402), first, second, bystander);

        Assert.Equal(1, acceptor);
    }

    [Fact]
    public void DetachedProgramNoLongerPicks()
    {
        using var netns = new TestNetNs();
        var endPoint = new IPEndPoint(IPAddress.Loopback, 7403);
        using var only = netns.Listen(endPoint, reusePort: true);
        using var group = GroupMap();
        using var program = BpfProgram.Load(SelectKeyZero(AttachType.SkReuseportSelect), new Dictionary<string, BpfMap> { ["group"] = group });
        program.AttachToReuseportGroup(only);
        // The map is empty, so the program's selection fails and it drops every connection.
        Assert.Throws<SocketException>(() => Traffic.ConnectAndFindAcceptor(netns, endPoint, only));

        BpfProgram.DetachFromReuseportGroup(only);

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, endPoint, only));
    }

    [Fact]
    public void SocketWithoutReuseportIsRefusedWithAClearReason()
    {
        using var netns = new TestNetNs();
        using var plain = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7404));
        using var group = GroupMap();
        using var program = BpfProgram.Load(SelectKeyZero(AttachType.SkReuseportSelect), new Dictionary<string, BpfMap> { ["group"] = group });

        var error = Assert.Throws<BpfException>(() => program.AttachToReuseportGroup(plain));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("SO_REUSEPORT", error.Message);
    }

    [Fact]
    public void SkLookupProgramCannotPickReuseportMembers()
    {
        using var netns = new TestNetNs();
        using var member = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7405), reusePort: true);
        using var program = BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build("wrong_type"));

        var error = Assert.Throws<BpfException>(() => program.AttachToReuseportGroup(member));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("only SK_REUSEPORT and socket filter programs", error.Message);
    }

}
