using System.Net;
using System.Net.Sockets;
using SkLookup.Benchmarks.Native;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// The receiving end of one flood, inside the receiver's namespace: for TCP a listener that never
/// accepts (SYN cookies answer every SYN), for UDP one socket whose classic BPF filter (<c>ret #0</c>)
/// drops every datagram, as in the series. The socket is bound to the receiver's address and the service
/// port, and is transparent (IP_TRANSPARENT) when the target asks for it. Configurations attach their
/// programs to <see cref="Netns"/> and may steer to <see cref="Socket"/>.
/// </summary>
internal sealed unsafe class FloodReceiver : IDisposable
{
    private FloodReceiver(NetworkNamespace netns, FloodTarget target, Socket socket)
    {
        Netns = netns;
        Target = target;
        Socket = socket;
    }

    /// <summary>The receiver's namespace.</summary>
    public NetworkNamespace Netns { get; }

    /// <summary>Where the flood goes.</summary>
    public FloodTarget Target { get; }

    /// <summary>The flood's protocol and family.</summary>
    public LookupShape Shape => Target.Shape;

    /// <summary>The socket that receives the flood.</summary>
    public Socket Socket { get; }

    /// <summary>The address and port the socket is bound to.</summary>
    public IPEndPoint SocketAddress => new(BenchmarkAddresses.Receiver(Shape), BenchmarkAddresses.ServicePort);

    /// <summary>The flood's destination (its first destination port).</summary>
    public IPEndPoint Destination => new(Target.Destination, Target.FirstDestinationPort);

    /// <summary>The flood's one source address with its first port.</summary>
    public IPEndPoint Source => new(BenchmarkAddresses.Sender(Shape), BenchmarkAddresses.FirstSourcePort);

    /// <summary>Opens the receiving socket for <paramref name="target"/> in <paramref name="netns"/>.</summary>
    public static FloodReceiver Open(NetworkNamespace netns, FloodTarget target)
    {
        var shape = target.Shape;
        var socket = netns.Run(() =>
        {
            var created = new Socket(shape.Family, shape.IsTcp ? SocketType.Stream : SocketType.Dgram, shape.Protocol);
            try
            {
                if (shape.IsIPv6)
                    created.DualMode = false;
                if (target.TransparentSocket)
                    SetTransparent(created);
                created.Bind(new IPEndPoint(BenchmarkAddresses.Receiver(shape), BenchmarkAddresses.ServicePort));
                if (shape.IsTcp)
                    created.Listen(1024);
                else
                    AttachDropAllFilter(created);
                return created;
            }
            catch
            {
                created.Dispose();
                throw;
            }
        });
        return new FloodReceiver(netns, target, socket);
    }

    // TPROXY hands a packet only to a socket that asked for foreign traffic (needs CAP_NET_ADMIN).
    private static void SetTransparent(Socket socket)
    {
        var one = 1;
        var level = socket.AddressFamily == AddressFamily.InterNetworkV6 ? LinuxNative.SOL_IPV6 : LinuxNative.SOL_IP;
        var option = socket.AddressFamily == AddressFamily.InterNetworkV6 ? LinuxNative.IPV6_TRANSPARENT : LinuxNative.IP_TRANSPARENT;
        if (LinuxNative.SetSockOpt((int)socket.Handle, level, option, &one, sizeof(int)) != 0)
            throw new InvalidOperationException($"set IP_TRANSPARENT on the receiving socket: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    private static void AttachDropAllFilter(Socket socket)
    {
        // BPF_RET | BPF_K with k = 0: keep 0 bytes of the packet, i.e. drop it. The drop happens in the
        // UDP receive path after the socket lookup, and the kernel counts it in Udp(6) InErrors.
        var instruction = new LinuxNative.ClassicFilterInstruction { Code = 0x06, K = 0 };
        var program = new LinuxNative.ClassicFilterProgram { Length = 1, Filter = &instruction };
        if (LinuxNative.SetSockOpt((int)socket.Handle, LinuxNative.SOL_SOCKET, LinuxNative.SO_ATTACH_FILTER, &program, (uint)sizeof(LinuxNative.ClassicFilterProgram)) != 0)
            throw new InvalidOperationException($"attach the drop-all socket filter: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    public void Dispose() => Socket.Dispose();
}
