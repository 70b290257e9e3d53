using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using SkLookup.Bpf.Interop;
using SkLookup.TestKit;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests;

/// <summary>BPF_PROG_TEST_RUN on sk_lookup programs: the verdict, the selected socket's cookie, and the kernel's input checks.</summary>
public sealed class TestRunTests
{
    private static readonly SkLookupTestInput s_tcpToPort80 =
        new(ProtocolType.Tcp, new IPEndPoint(IPAddress.Parse("198.51.100.7"), 40000), new IPEndPoint(IPAddress.Parse("192.0.2.1"), 80));


    [Theory]
    [InlineData(SkAction.Pass)]
    [InlineData(SkAction.Drop)]
    public void VerdictIsWhatTheProgramReturns(SkAction verdict)
    {
        using var program = BpfProgram.Load(new Assembler().Return(verdict).Build("verdict"));

        var result = program.TestRun(s_tcpToPort80);

        Assert.Equal(verdict, result.Verdict);
        Assert.Equal(0ul, result.SelectedSocketCookie);
    }

    [Theory]
    [InlineData("127.0.0.1", "192.0.2.1", ProtocolType.Tcp)]
    [InlineData("::1", "2001:db8::1", ProtocolType.Tcp)]
    [InlineData("127.0.0.1", "192.0.2.1", ProtocolType.Udp)]
    public void SelectedSocketCookieIsTheSocketsSoCookie(string bindAddress, string destination, ProtocolType protocol)
    {
        using var netns = new TestNetNs();
        var local = new IPEndPoint(IPAddress.Parse(bindAddress), 7300);
        using var target = protocol == ProtocolType.Tcp ? netns.Listen(local) : netns.BindUdp(local);
        using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        sockets.UpdateSocket(Keys.U32(0), target);
        using var program = BpfProgram.Load(TestPrograms.AssignFromSockMap("assign_first", SkAction.Pass), new Dictionary<string, BpfMap> { ["sockets"] = sockets });
        var source = IPAddress.Parse(destination).AddressFamily == AddressFamily.InterNetwork ? "198.51.100.7" : "2001:db8::99";

        var result = program.TestRun(new SkLookupTestInput(protocol, new IPEndPoint(IPAddress.Parse(source), 40000), new IPEndPoint(IPAddress.Parse(destination), 80)));

        Assert.Equal(SkAction.Pass, result.Verdict);
        Assert.Equal(SoCookie.Of(target), result.SelectedSocketCookie);
    }

    [Fact]
    public void DropDiscardsTheSelection()
    {
        using var netns = new TestNetNs();
        using var target = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7301));
        using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        sockets.UpdateSocket(Keys.U32(0), target);
        using var program = BpfProgram.Load(TestPrograms.AssignFromSockMap("assign_first", SkAction.Drop), new Dictionary<string, BpfMap> { ["sockets"] = sockets });

        var result = program.TestRun(s_tcpToPort80);

        Assert.Equal(SkAction.Drop, result.Verdict);
        Assert.Equal(0ul, result.SelectedSocketCookie);
    }

    [Fact]
    public void ProgramSeesTheInputFields()
    {
        // Pass only for exactly TCP from 198.51.100.7:40000 to 192.0.2.1:80; drop otherwise.
        var spec = new Assembler()
            .Load(Size.Word, R2, R1, SkLookupContext.Protocol).JumpIf(R2, JumpOp.NotEqual, SkLookupContext.IpProtoTcp, "drop")
            .Load(Size.Word, R2, R1, SkLookupContext.LocalPort).JumpIf(R2, JumpOp.NotEqual, 80, "drop")
            .Load(Size.Half, R2, R1, SkLookupContext.RemotePort).JumpIf(R2, JumpOp.NotEqual, 0x409c, "drop") // 40000 in network order
            .Load(Size.Word, R2, R1, SkLookupContext.LocalIp4).JumpIf32(R2, JumpOp.NotEqual, 0x010200c0, "drop")
            .Load(Size.Word, R2, R1, SkLookupContext.RemoteIp4).JumpIf32(R2, JumpOp.NotEqual, 0x076433c6, "drop")
            .Return(SkAction.Pass)
            .Label("drop").Return(SkAction.Drop)
            .Build("match_tuple");
        using var program = BpfProgram.Load(spec);

        Assert.Equal(SkAction.Pass, program.TestRun(s_tcpToPort80).Verdict);
        Assert.Equal(SkAction.Drop, program.TestRun(s_tcpToPort80 with { Protocol = ProtocolType.Udp }).Verdict);
        Assert.Equal(SkAction.Drop, program.TestRun(s_tcpToPort80 with { Local = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 81) }).Verdict);
        Assert.Equal(SkAction.Drop, program.TestRun(s_tcpToPort80 with { Remote = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 40001) }).Verdict);
    }

    [Fact]
    public void MeanDurationIsReported()
    {
        using var program = BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build("timed"));

        var result = program.TestRun(s_tcpToPort80, repeat: 1000);

        Assert.True(result.MeanDurationNs > 0, "the kernel reports the mean time per run");
    }

    [Fact]
    public void InputOfMixedFamiliesIsRefusedBeforeTheKernel()
    {
        using var program = BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build("mixed"));

        Assert.Throws<ArgumentException>(() => program.TestRun(s_tcpToPort80 with { Local = new IPEndPoint(IPAddress.IPv6Loopback, 80) }));
        Assert.Throws<ArgumentException>(() => program.TestRun(s_tcpToPort80 with { Protocol = ProtocolType.Icmp }));
    }

    [Theory]
    [InlineData(SkLookupContext.AfInet, 70000u, Errno.ERANGE, BpfErrorReason.OutOfRange)] // local_port above 65535
    [InlineData(99, 80u, Errno.EAFNOSUPPORT, BpfErrorReason.WrongSocket)]                  // no such family
    public unsafe void KernelRefusesBadContextsThatTheTypedApiCannotExpress(int family, uint localPort, int errno, BpfErrorReason reason)
    {
        using var program = BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build("raw_input"));
        var context = new byte[SkLookupContext.Size];
        s_tcpToPort80.Encode(context);
        BitConverter.TryWriteBytes(context.AsSpan(SkLookupContext.Family), family);
        BitConverter.TryWriteBytes(context.AsSpan(SkLookupContext.LocalPort), localPort);

        fixed (byte* contextPointer = context)
        {
            var attr = new ProgTestRunAttr { ProgFd = (uint)program.Handle.Value, CtxSizeIn = (uint)context.Length, CtxIn = (ulong)contextPointer };
            Assert.True(BpfSyscall.TryInvoke(BpfCommand.ProgTestRun, ref attr, out var actual) < 0);
            Assert.Equal(errno, actual);
            Assert.Equal(reason, Errno.ToException("test run", actual).Reason);
        }
    }
}
