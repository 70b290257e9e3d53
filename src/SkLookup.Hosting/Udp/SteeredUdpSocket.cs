using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SkLookup.Bpf;
using SkLookup.Hosting.Interop;

namespace SkLookup.Hosting;

/// <summary>
/// A UDP socket that receives steered traffic and answers it correctly. sk_lookup hands a socket bound to,
/// say, 127.0.0.1:5353 the datagrams sent to every address of 192.0.2.0/24 port 53 (or to every port).
/// Such a socket must learn where each datagram was sent, and reply from exactly there: a client that
/// connected its socket (<c>dig</c>, <c>nc -u</c>, most resolvers) drops a reply from any other address or
/// port, and an unconnected one sees an answer from a stranger. This type does both.
/// </summary>
/// <remarks>
/// <para>
/// Receiving: it turns on IP_PKTINFO and IP_RECVORIGDSTADDR (and IPV6_RECVPKTINFO and IPV6_RECVORIGDSTADDR
/// on an IPv6 socket, whose IPv4 traffic still reports through the IPv4 options) and reads each datagram
/// with <c>recvmsg</c>, so <see cref="SteeredDatagram.Destination"/> is the address and port the client sent to.
/// </para>
/// <para>
/// Replying: when the destination port is the socket's own port, the reply leaves this socket with the
/// destination address as its source (an IP_PKTINFO / IPV6_PKTINFO control message; the socket gets
/// IP_FREEBIND so that IPv6 accepts an address that is routed locally but not configured). Linux has no
/// control message for the source port, so for any other port the reply leaves a socket bound to the
/// destination address and port, one per destination, from a least-recently-used cache of at most
/// <c>replySocketLimit</c> sockets (SO_REUSEADDR, IP_FREEBIND, and a filter that drops whatever they would
/// receive). Those are created in the namespace of this socket.
/// </para>
/// <para>
/// Receive and reply are allocation-free once warm: pass pooled or long-lived buffers, and read the port
/// and family properties of <see cref="SteeredDatagram"/> rather than its <see cref="IPEndPoint"/>s.
/// One receive loop at a time is the cheap case; replies may be sent from any number of threads.
/// </para>
/// </remarks>
public sealed class SteeredUdpSocket : IDisposable
{
    /// <summary>How many reply sockets (one per destination address and port other than the socket's own) stay open by default.</summary>
    public const int DefaultReplySocketLimit = 256;

    // IP_PKTINFO and IP_ORIGDSTADDR, or their IPv6 twins: at most 48 bytes each with their headers.
    private const int ControlSize = 256;
    private const int SockaddrStorageSize = 128;

    private readonly bool _ownsSocket;
    private readonly bool _isIPv6;
    private readonly ReplySockets _replies;
    private readonly NetworkNamespace? _namespace;
    private readonly bool _ownsNamespace;
    private int _disposed;

    /// <summary>
    /// Wraps <paramref name="socket"/>, a bound UDP socket (IPv4, IPv6, or dual-stack IPv6), and sets the
    /// options described above on it. Register the socket itself with the dispatcher as usual.
    /// </summary>
    /// <param name="socket">A bound IPv4 or IPv6 UDP socket, e.g. one systemd passed, or one registered with <c>sklookup register</c>.</param>
    /// <param name="ownsSocket">Closes <paramref name="socket"/> on <see cref="Dispose"/>.</param>
    /// <param name="replySocketLimit">How many reply sockets for other ports stay open at most; the least recently used one closes first.</param>
    /// <param name="networkNamespace">
    /// The namespace the socket lives in, when it is not the calling thread's (a socket belongs to the
    /// namespace it was created in, and replies must leave from there). The caller keeps it open while this instance lives.
    /// </param>
    /// <exception cref="ArgumentException">The socket is not a bound IPv4 or IPv6 UDP socket, or lives in another namespace than the one given.</exception>
    public SteeredUdpSocket(Socket socket, bool ownsSocket = false, int replySocketLimit = DefaultReplySocketLimit, NetworkNamespace? networkNamespace = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentOutOfRangeException.ThrowIfLessThan(replySocketLimit, 1);
        if (socket.SocketType != SocketType.Dgram || socket.ProtocolType != ProtocolType.Udp ||
            socket.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            throw new ArgumentException($"a steered UDP socket needs an IPv4 or IPv6 UDP socket, not {socket.AddressFamily} {socket.SocketType} {socket.ProtocolType}", nameof(socket));
        if (socket.LocalEndPoint is not IPEndPoint local || local.Port == 0)
            throw new ArgumentException("the UDP socket is not bound: bind it (any free address will do, e.g. 127.0.0.1:5353) before wrapping it", nameof(socket));
        Socket = socket;
        LocalEndPoint = local;
        _ownsSocket = ownsSocket;
        _isIPv6 = socket.AddressFamily == AddressFamily.InterNetworkV6;
        // The IPv4 options matter on an IPv6 socket too: they report the IPv4 datagrams a dual-stack socket gets.
        ReplySockets.SetInt(socket, LibC.SOL_IP, LibC.IP_PKTINFO, 1);
        ReplySockets.SetInt(socket, LibC.SOL_IP, LibC.IP_RECVORIGDSTADDR, 1);
        ReplySockets.SetInt(socket, LibC.SOL_IP, LibC.IP_FREEBIND, 1);
        if (_isIPv6)
        {
            ReplySockets.SetInt(socket, LibC.SOL_IPV6, LibC.IPV6_RECVPKTINFO, 1);
            ReplySockets.SetInt(socket, LibC.SOL_IPV6, LibC.IPV6_RECVORIGDSTADDR, 1);
        }
        (_namespace, _ownsNamespace) = networkNamespace is null ? ReplyNamespace(socket) : (networkNamespace, false);
        _replies = new ReplySockets(replySocketLimit, _namespace);
    }

    /// <summary>Creates a UDP socket bound to <paramref name="endPoint"/> in the calling thread's namespace and wraps it; the result owns it.</summary>
    /// <param name="endPoint">Any free address will do (e.g. 127.0.0.1:5353 or [::1]:5353): the bindings decide which traffic reaches it.</param>
    /// <param name="dualStack">For an IPv6 end point: clears IPV6_V6ONLY, so the socket serves IPv4 too (bind [::] for that; a specific IPv6 address sets IPV6_V6ONLY).</param>
    /// <param name="reusePort">Sets SO_REUSEPORT before binding, so that several processes can share the address.</param>
    public static SteeredUdpSocket Bind(IPEndPoint endPoint, bool dualStack = false, bool reusePort = false)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (dualStack && endPoint.AddressFamily != AddressFamily.InterNetworkV6)
            throw new ArgumentException($"dual-stack needs an IPv6 end point, not {endPoint}", nameof(dualStack));
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = dualStack;
            if (reusePort)
                ReplySockets.SetInt(socket, LibC.SOL_SOCKET, LibC.SO_REUSEPORT, 1);
            socket.Bind(endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        try
        {
            // The socket lives where this thread is (e.g. inside NetworkNamespace.Run), and so will its reply sockets.
            return new SteeredUdpSocket(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The wrapped socket: register it with the dispatcher, or read its options.</summary>
    public Socket Socket { get; }

    /// <summary>Where the socket is bound.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>How many reply sockets (for destination ports other than <see cref="LocalEndPoint"/>'s) are open now.</summary>
    public int ReplySocketCount => _replies.Count;

    /// <summary>
    /// Receives the next datagram into <paramref name="buffer"/>, waiting for one without blocking a thread.
    /// A datagram longer than the buffer is cut off and marked <see cref="SteeredDatagram.Truncated"/>.
    /// </summary>
    /// <exception cref="SocketException">The kernel refused the receive.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SteeredDatagram> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryReceive(buffer.Span, out var datagram))
                return datagram;
            // A zero-byte peek completes when a datagram is queued, and consumes nothing: it lets .NET's own
            // epoll engine do the waiting, because Socket.ReceiveMessageFromAsync reports no destination port.
            await Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Receives the next datagram into <paramref name="buffer"/>, blocking the calling thread until one arrives.</summary>
    /// <exception cref="SocketException">The kernel refused the receive.</exception>
    public SteeredDatagram Receive(Span<byte> buffer)
    {
        while (true)
        {
            if (TryReceive(buffer, out var datagram))
                return datagram;
            Socket.Poll(-1, SelectMode.SelectRead);
        }
    }

    /// <summary>Receives a datagram if one is queued, without waiting.</summary>
    /// <returns>False if none is queued.</returns>
    /// <exception cref="SocketException">The kernel refused the receive.</exception>
    public bool TryReceive(Span<byte> buffer, out SteeredDatagram datagram)
    {
        var handle = Socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return TryReceive((int)handle.DangerousGetHandle(), buffer, out datagram);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Sends <paramref name="payload"/> to the client of <paramref name="request"/>, from the address and
    /// port that client sent <paramref name="request"/> to.
    /// </summary>
    /// <exception cref="SocketException">The kernel refused the send, or no socket could be bound to the reply's source (another socket holds it without SO_REUSEADDR).</exception>
    public ValueTask SendReplyAsync(ReadOnlyMemory<byte> payload, SteeredDatagram request, CancellationToken cancellationToken = default)
    {
        var socket = SocketFor(request);
        return TrySend(socket, payload.Span, request) ? ValueTask.CompletedTask : SendWhenWritableAsync(socket, payload, request, cancellationToken);
    }

    /// <summary>Sends a reply as <see cref="SendReplyAsync"/> does, blocking the calling thread while the send buffer is full.</summary>
    /// <inheritdoc cref="SendReplyAsync" />
    public void SendReply(ReadOnlySpan<byte> payload, in SteeredDatagram request)
    {
        var socket = SocketFor(request);
        while (!TrySend(socket, payload, request))
            socket.Poll(-1, SelectMode.SelectWrite);
    }

    /// <summary>Closes the reply sockets, and the socket if this instance owns it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _replies.Dispose();
        if (_ownsNamespace)
            _namespace?.Dispose();
        if (_ownsSocket)
            Socket.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"steered UDP socket {LocalEndPoint}";

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendWhenWritableAsync(Socket socket, ReadOnlyMemory<byte> payload, SteeredDatagram request, CancellationToken cancellationToken)
    {
        // The slow path: the send buffer was full. .NET has no public wait for writability, so a pool thread polls.
        do
        {
            await Task.Run(() =>
            {
                while (!socket.Poll(50_000, SelectMode.SelectWrite))
                    cancellationToken.ThrowIfCancellationRequested();
            }, cancellationToken).ConfigureAwait(false);
        }
        while (!TrySend(socket, payload.Span, request));
    }

    /// <summary>This socket when the reply's source port is its own; otherwise the reply socket bound to the destination.</summary>
    private Socket SocketFor(in SteeredDatagram request)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (request.RawDestination.Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            throw new ArgumentException("the datagram was not received by a SteeredUdpSocket", nameof(request));
        return request.RawDestination.Port == LocalEndPoint.Port ? Socket : _replies.Get(request.RawDestination.UnmapIPv4());
    }

    /// <summary>One non-blocking sendmsg; false if the send buffer is full.</summary>
    private bool TrySend(Socket socket, ReadOnlySpan<byte> payload, in SteeredDatagram request)
    {
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            var viaThisSocket = ReferenceEquals(socket, Socket);
            // This socket sends to the client as the kernel reported it (IPv4-mapped on an IPv6 socket), and
            // sets the source address; a reply socket is of the destination's family and bound to its source.
            var destination = request.RawDestination.UnmapIPv4();
            var client = viaThisSocket
                ? (_isIPv6 ? request.RawSource.MapToIPv6() : request.RawSource)
                : (destination.Family == AddressFamily.InterNetworkV6 ? request.RawSource.MapToIPv6() : request.RawSource.UnmapIPv4());
            return SendMessage(fd, payload, client, viaThisSocket ? destination : default, request.InterfaceIndex);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    private unsafe static bool SendMessage(int fd, ReadOnlySpan<byte> payload, in RawEndPoint to, in RawEndPoint source, int interfaceIndex)
    {
        var name = stackalloc byte[SockaddrStorageSize];
        var nameLength = to.Write(new Span<byte>(name, SockaddrStorageSize));
        var control = stackalloc byte[64];
        var controlLength = 0;
        if (source.Family == AddressFamily.InterNetwork)
        {
            // struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst; struct in_addr ipi_addr; }:
            // ipi_spec_dst is the source address; the route picks the interface.
            controlLength = WriteControlHeader(control, LibC.SOL_IP, LibC.IP_PKTINFO, 12);
            var data = new Span<byte>(control + LibC.CmsgHeaderSize, 12);
            data.Clear();
            source.WriteAddress(data[4..]);
        }
        else if (source.Family == AddressFamily.InterNetworkV6)
        {
            // struct in6_pktinfo { struct in6_addr ipi6_addr; int ipi6_ifindex; }: a link-local source needs its interface.
            controlLength = WriteControlHeader(control, LibC.SOL_IPV6, LibC.IPV6_PKTINFO, 20);
            var data = new Span<byte>(control + LibC.CmsgHeaderSize, 20);
            source.WriteAddress(data);
            MemoryMarshal.Write(data[16..], source.IsLinkLocal ? interfaceIndex : 0);
        }
        fixed (byte* bytes = payload)
        {
            var vector = new IoVector { Base = bytes, Length = (nuint)payload.Length };
            var message = new MessageHeader
            {
                Name = name,
                NameLength = (uint)nameLength,
                Vectors = &vector,
                VectorCount = 1,
                Control = controlLength == 0 ? null : control,
                ControlLength = (nuint)controlLength,
            };
            while (true)
            {
                if (LibC.SendMsg(fd, &message, LibC.MSG_DONTWAIT | LibC.MSG_NOSIGNAL) >= 0)
                    return true;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EINTR)
                    continue;
                if (errno == LibC.EAGAIN)
                    return false;
                throw SocketErrors.For(errno, $"cannot send a reply to {to}");
            }
        }
    }

    private unsafe static int WriteControlHeader(byte* control, int level, int type, int dataLength)
    {
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }, cmsg_len = CMSG_LEN(dataLength).
        *(nuint*)control = (nuint)(LibC.CmsgHeaderSize + dataLength);
        *(int*)(control + 8) = level;
        *(int*)(control + 12) = type;
        return LibC.CmsgSpace(dataLength);
    }

    private unsafe bool TryReceive(int fd, Span<byte> buffer, out SteeredDatagram datagram)
    {
        var name = stackalloc byte[SockaddrStorageSize];
        var control = stackalloc byte[ControlSize];
        fixed (byte* data = buffer)
        {
            var vector = new IoVector { Base = data, Length = (nuint)buffer.Length };
            var message = new MessageHeader
            {
                Name = name,
                NameLength = SockaddrStorageSize,
                Vectors = &vector,
                VectorCount = 1,
                Control = control,
                ControlLength = ControlSize,
            };
            nint length;
            while ((length = LibC.RecvMsg(fd, &message, LibC.MSG_DONTWAIT)) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EINTR)
                    continue;
                if (errno == LibC.EAGAIN)
                {
                    datagram = default;
                    return false;
                }
                throw SocketErrors.For(errno, $"cannot receive on {this}");
            }
            var source = RawEndPoint.Read(new ReadOnlySpan<byte>(name, (int)Math.Min(message.NameLength, SockaddrStorageSize)));
            var (destination, interfaceIndex) = ReadDestination(new ReadOnlySpan<byte>(control, (int)Math.Min(message.ControlLength, ControlSize)));
            datagram = new SteeredDatagram((int)Math.Min(length, buffer.Length), (message.Flags & LibC.MSG_TRUNC) != 0, source, destination, interfaceIndex);
            return true;
        }
    }

    /// <summary>The original destination (IP_ORIGDSTADDR, or the packet-info address with our port) and the arrival interface.</summary>
    private (RawEndPoint Destination, int InterfaceIndex) ReadDestination(ReadOnlySpan<byte> control)
    {
        RawEndPoint original = default, packetInfo = default;
        var interfaceIndex = 0;
        var offset = 0;
        while (offset + LibC.CmsgHeaderSize <= control.Length)
        {
            var entryLength = (int)MemoryMarshal.Read<nuint>(control[offset..]);
            if (entryLength < LibC.CmsgHeaderSize || offset + entryLength > control.Length)
                break;
            var level = MemoryMarshal.Read<int>(control[(offset + 8)..]);
            var type = MemoryMarshal.Read<int>(control[(offset + 12)..]);
            var data = control.Slice(offset + LibC.CmsgHeaderSize, entryLength - LibC.CmsgHeaderSize);
            if ((level == LibC.SOL_IP && type == LibC.IP_ORIGDSTADDR) || (level == LibC.SOL_IPV6 && type == LibC.IPV6_ORIGDSTADDR))
            {
                original = RawEndPoint.Read(data);
            }
            else if (level == LibC.SOL_IP && type == LibC.IP_PKTINFO && data.Length >= 12)
            {
                interfaceIndex = MemoryMarshal.Read<int>(data);
                packetInfo = RawEndPoint.IPv4(data.Slice(8, 4), (ushort)LocalEndPoint.Port); // ipi_addr: the header's destination.
            }
            else if (level == LibC.SOL_IPV6 && type == LibC.IPV6_PKTINFO && data.Length >= 20)
            {
                interfaceIndex = MemoryMarshal.Read<int>(data[16..]);
                packetInfo = RawEndPoint.IPv6(data[..16], (ushort)LocalEndPoint.Port, 0);
            }
            offset += LibC.CmsgAlign(entryLength);
        }
        if (original.Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            original = packetInfo;
        // A link-local destination is only meaningful with its interface, which a reply socket must bind to.
        if (original.IsLinkLocal && original.ScopeId == 0 && interfaceIndex != 0)
        {
            Span<byte> address = stackalloc byte[16];
            original.WriteAddress(address);
            original = RawEndPoint.IPv6(address, original.Port, (uint)interfaceIndex);
        }
        return (original, interfaceIndex);
    }

    /// <summary>
    /// The namespace reply sockets are created in, when none is given: the calling thread's, if the socket
    /// lives there (kept, because replies may be sent from threads in other namespaces). The kernel names a
    /// socket's namespace only to CAP_NET_ADMIN; without it, the calling thread's is assumed.
    /// </summary>
    private static (NetworkNamespace? Namespace, bool Owned) ReplyNamespace(Socket socket)
    {
        var inode = SocketDescription.Describe(socket).NetNsInode;
        var current = NetworkNamespace.Current();
        if (inode is { } socketInode && socketInode != current.Inode)
        {
            current.Dispose();
            throw new ArgumentException(
                $"the socket lives in network namespace {socketInode}, not in this thread's: pass its namespace, so that replies leave from there", nameof(socket));
        }
        return (current, true);
    }
}
