using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.Hosting.Interop;

namespace SkLookup.Hosting;

/// <summary>
/// The sockets <see cref="SteeredUdpSocket"/> replies from when a datagram's original destination port
/// is not its own: one per destination address and port, bound there, kept in a least-recently-used
/// cache of bounded size. Linux has no control message that sets a datagram's source port, so a reply
/// from 192.0.2.7:53 needs a socket bound to 192.0.2.7:53.
/// </summary>
/// <remarks>
/// Each socket has SO_REUSEADDR (so two instances of a service, e.g. across a restart, can both hold
/// one), IP_FREEBIND (an address that is routed locally but not configured, as sk_lookup prefixes usually
/// are, binds without privileges; IPv6 needs it for that), and a classic BPF filter that drops every
/// datagram it would receive: it exists to send. It never takes traffic from the dispatcher, because
/// sk_lookup's choice overrides unconnected sockets; traffic a binding no longer steers is dropped by it.
/// </remarks>
internal sealed unsafe class ReplySockets(int capacity, NetworkNamespace? networkNamespace) : IDisposable
{
    private readonly Dictionary<RawEndPoint, LinkedListNode<(RawEndPoint Key, Socket Socket)>> _byEndPoint = [];
    private readonly LinkedList<(RawEndPoint Key, Socket Socket)> _recent = new(); // Most recently used first.
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>How many sockets are open.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _byEndPoint.Count;
        }
    }

    /// <summary>The socket bound to <paramref name="endPoint"/>, created (and the oldest one closed) if needed.</summary>
    public Socket Get(RawEndPoint endPoint)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_byEndPoint.TryGetValue(endPoint, out var node))
            {
                if (node != _recent.First)
                {
                    _recent.Remove(node);
                    _recent.AddFirst(node);
                }
                return node.Value.Socket;
            }
        }
        // Created outside the lock: it may take a thread that enters the namespace.
        var socket = Create(endPoint);
        lock (_lock)
        {
            if (_disposed)
            {
                socket.Dispose();
                throw new ObjectDisposedException(nameof(ReplySockets));
            }
            if (_byEndPoint.TryGetValue(endPoint, out var raced))
            {
                socket.Dispose();
                return raced.Value.Socket;
            }
            _byEndPoint[endPoint] = _recent.AddFirst((endPoint, socket));
            while (_byEndPoint.Count > capacity)
            {
                // A send in flight on the evicted socket holds a reference to its handle, so it completes first.
                var oldest = _recent.Last!;
                _recent.RemoveLast();
                _byEndPoint.Remove(oldest.Value.Key);
                oldest.Value.Socket.Dispose();
            }
            return socket;
        }
    }

    /// <summary>Closes every socket.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var (_, socket) in _recent)
                socket.Dispose();
            _recent.Clear();
            _byEndPoint.Clear();
        }
    }

    private Socket Create(RawEndPoint endPoint)
    {
        // A socket belongs to the namespace of the thread that creates it, and replies must leave from the
        // namespace the datagram arrived in (a test, or an app that set SkLookupOptions.Namespace, runs elsewhere).
        if (networkNamespace is not null && !networkNamespace.IsCurrent)
            return networkNamespace.Run(() => CreateHere(endPoint));
        return CreateHere(endPoint);
    }

    private static Socket CreateHere(RawEndPoint endPoint)
    {
        var socket = new Socket(endPoint.Family, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.Family == AddressFamily.InterNetworkV6)
                socket.DualMode = false;
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            SetInt(socket, LibC.SOL_IP, LibC.IP_FREEBIND, 1);
            DropEverything(socket);
            socket.Bind(endPoint.ToIPEndPoint());
            return socket;
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            throw new SocketException((int)exception.SocketErrorCode,
                $"cannot reply from {endPoint}: binding a socket there failed ({exception.Message}); another socket may hold that address and port without SO_REUSEADDR");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Attaches the one-instruction classic BPF program <c>ret #0</c>: every datagram is dropped before it is queued.</summary>
    private static void DropEverything(Socket socket)
    {
        // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }: BPF_RET | BPF_K (0x06) with k = 0, "keep 0 bytes".
        var filter = stackalloc ulong[1];
        filter[0] = 0x06;
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the kernel copies it during the call.
        Span<byte> program = stackalloc byte[16];
        program.Clear();
        BitConverter.TryWriteBytes(program, (ushort)1);
        BitConverter.TryWriteBytes(program[8..], (ulong)filter);
        socket.SetRawSocketOption(LibC.SOL_SOCKET, LibC.SO_ATTACH_FILTER, program);
    }

    internal static void SetInt(Socket socket, int level, int name, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, value);
        socket.SetRawSocketOption(level, name, bytes);
    }
}
