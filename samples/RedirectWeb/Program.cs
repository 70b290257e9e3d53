// Use case 1 of the sk_lookup series: every TCP connection to 192.0.2.0/24, port 80, goes to one
// socket, which listens on 127.0.0.1:8080. It all happens in a private network namespace.
using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

// The redirect program, as the C it stands for.
var asm = new Assembler()
    .Mov(R6, R1)                                                            // ctx = r1
    .Load(Size.Word, R2, R6, SkLookupContext.Family)                        // if (ctx->family != AF_INET) return SK_PASS
    .JumpIf(R2, JumpOp.NotEqual, SkLookupContext.AfInet, "pass")
    .Load(Size.Word, R2, R6, SkLookupContext.LocalPort)                     // if (ctx->local_port != 80) return SK_PASS
    .JumpIf(R2, JumpOp.NotEqual, 80, "pass")
    .Load(Size.Word, R2, R6, SkLookupContext.LocalIp4)                      // if ((ctx->local_ip4 & /24) != 192.0.2.0) return SK_PASS
    .Alu(AluOp.And, R2, 0x00ffffff)                                         // (the address is in network order)
    .JumpIf(R2, JumpOp.NotEqual, 0x000200c0, "pass")
    .Store(Size.Word, R10, -4, 0)                                           // u32 key = 0
    .LoadMapPointer(R1, "sockets").Mov(R2, R10).Add(R2, -4)                 // sk = bpf_map_lookup_elem(&sockets, &key)
    .Call(HelperFunction.MapLookupElem)
    .JumpIf(R0, JumpOp.Equal, 0, "drop")                                    // no socket: drop rather than leak
    .Mov(R7, R0)
    .Mov(R1, R6).Mov(R2, R7).Mov(R3, 0).Call(HelperFunction.SkAssign)       // bpf_sk_assign(ctx, sk, 0)
    .Mov(R8, R0)
    .Mov(R1, R7).Call(HelperFunction.SkRelease)                             // bpf_sk_release(sk)
    .JumpIf(R8, JumpOp.NotEqual, 0, "drop")
    .Label("pass").Return(SkAction.Pass)
    .Label("drop").Return(SkAction.Drop);
var spec = asm.Build("redirect_web");

using var netns = NetworkNamespace.CreatePrivate();
netns.Run(() => LocalRoutes.Add(IPAddress.Parse("192.0.2.0"), 24));
using var web = netns.Run(() =>
{
    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    socket.Bind(new IPEndPoint(IPAddress.Loopback, 8080));
    socket.Listen();
    return socket;
});
using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
sockets.UpdateSocket(BitConverter.GetBytes(0), new FileDescriptor((int)web.Handle, ownsHandle: false));
using var program = BpfProgram.Load(spec, new Dictionary<string, BpfMap> { ["sockets"] = sockets });
using var link = NetNsLink.Attach(program, netns);

Console.WriteLine($"Attached {program} to {netns}; the web socket listens on {web.LocalEndPoint}.");
Console.WriteLine(spec.Disassemble());
foreach (var destination in new[] { "192.0.2.1:80", "192.0.2.254:80", "192.0.2.1:81" })
{
    using var client = netns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
    try
    {
        client.Connect(IPEndPoint.Parse(destination));
        using var accepted = web.Accept();
        Console.WriteLine($"  connect {destination,-16} -> accepted by the web socket, from {accepted.RemoteEndPoint}");
    }
    catch (SocketException exception)
    {
        Console.WriteLine($"  connect {destination,-16} -> {exception.SocketErrorCode} (not steered: no listener there)");
    }
}
