using System.Net;
using System.Net.Sockets;
using System.Text;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// What the kernel says about one socket: its kind, state, addresses, namespace and cookie. It is a
/// plain record, so it can be built and compared without a kernel; <see cref="Describe(FileDescriptor)"/>
/// reads one from a live socket.
/// </summary>
public sealed record SocketDescription
{
    /// <summary><see cref="AddressFamily.InterNetwork"/>, <see cref="AddressFamily.InterNetworkV6"/>, <see cref="AddressFamily.Unix"/>, or <see cref="AddressFamily.Unknown"/> for the rest.</summary>
    public AddressFamily Family { get; init; }

    /// <summary>The kernel's family number (<c>SO_DOMAIN</c>), e.g. 2 for AF_INET and 10 for AF_INET6.</summary>
    public int FamilyNumber { get; init; }

    /// <summary>Stream, datagram, and so on (<c>SO_TYPE</c>; the kernel's numbers equal .NET's).</summary>
    public SocketType Type { get; init; }

    /// <summary>The protocol (<c>SO_PROTOCOL</c>): TCP is 6, UDP 17, MPTCP 262.</summary>
    public ProtocolType Protocol { get; init; }

    /// <summary>True for a socket that accepts connections (<c>SO_ACCEPTCONN</c>).</summary>
    public bool IsListening { get; init; }

    /// <summary>True if the socket has a peer (<c>getpeername</c> succeeds): a connected UDP socket or a TCP connection in any state.</summary>
    public bool IsConnected { get; init; }

    /// <summary>True for a TCP socket in the ESTABLISHED state.</summary>
    public bool IsEstablished { get; init; }

    /// <summary>True for an IPv6 socket with <c>IPV6_V6ONLY</c> set; such a socket never receives IPv4 traffic.</summary>
    public bool IsV6Only { get; init; }

    /// <summary>True if <c>SO_REUSEPORT</c> is set.</summary>
    public bool ReusePort { get; init; }

    /// <summary>The bound address (<c>getsockname</c>), or null for a socket that is neither IPv4 nor IPv6.</summary>
    public IPEndPoint? LocalEndPoint { get; init; }

    /// <summary>The peer's address for a connected IPv4 or IPv6 socket, otherwise null.</summary>
    public IPEndPoint? RemoteEndPoint { get; init; }

    /// <summary>
    /// The inode of the network namespace the socket lives in (as in <see cref="NetworkNamespace.Inode"/>),
    /// or null when the caller may not open it (that needs CAP_NET_ADMIN over the namespace).
    /// </summary>
    public ulong? NetNsInode { get; init; }

    /// <summary>The socket's cookie (<see cref="SocketCookie"/>).</summary>
    public ulong Cookie { get; init; }

    /// <summary>True for IPv4 and IPv6 sockets.</summary>
    public bool IsInternet => Family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;

    /// <summary>Reads the description of <paramref name="socket"/>.</summary>
    /// <exception cref="BpfException">Reason <see cref="BpfErrorReason.WrongSocket"/> if the descriptor is not a socket.</exception>
    public static SocketDescription Describe(FileDescriptor socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        // SO_DOMAIN comes first: it is the call that tells a non-socket apart with ENOTSOCK.
        var familyNumber = SocketCalls.GetInt(socket, LibC.SOL_SOCKET, LibC.SO_DOMAIN, "the family (SO_DOMAIN)");
        var family = familyNumber switch
        {
            LibC.AF_INET => AddressFamily.InterNetwork,
            LibC.AF_INET6 => AddressFamily.InterNetworkV6,
            LibC.AF_UNIX => AddressFamily.Unix,
            _ => AddressFamily.Unknown,
        };
        var type = (SocketType)SocketCalls.GetInt(socket, LibC.SOL_SOCKET, LibC.SO_TYPE, "the type (SO_TYPE)");
        var protocol = (ProtocolType)SocketCalls.GetInt(socket, LibC.SOL_SOCKET, LibC.SO_PROTOCOL, "the protocol (SO_PROTOCOL)");
        var connected = SocketCalls.TryGetPeer(socket, out var peer);
        var inet = family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;
        return new SocketDescription
        {
            Family = family,
            FamilyNumber = familyNumber,
            Type = type,
            Protocol = protocol,
            IsListening = SocketCalls.GetInt(socket, LibC.SOL_SOCKET, LibC.SO_ACCEPTCONN, "the listening state (SO_ACCEPTCONN)") != 0,
            IsConnected = connected,
            IsEstablished = connected && inet && protocol == ProtocolType.Tcp && SocketCalls.GetTcpState(socket) == LibC.TCP_ESTABLISHED,
            IsV6Only = family == AddressFamily.InterNetworkV6 &&
                       SocketCalls.GetInt(socket, LibC.IPPROTO_IPV6, LibC.IPV6_V6ONLY, "IPV6_V6ONLY") != 0,
            ReusePort = SocketCalls.GetInt(socket, LibC.SOL_SOCKET, LibC.SO_REUSEPORT, "SO_REUSEPORT") != 0,
            LocalEndPoint = inet ? SocketCalls.GetLocalEndPoint(socket) : null,
            RemoteEndPoint = peer,
            NetNsInode = SocketCalls.GetNetworkNamespaceInode(socket),
            Cookie = SocketCalls.GetCookie(socket),
        };
    }

    /// <summary>Reads the description of a .NET <paramref name="socket"/>.</summary>
    public static SocketDescription Describe(Socket socket) => SocketCalls.WithDescriptor(socket, Describe);

    /// <summary>
    /// A short name for the kind of socket as <c>ss</c> would say it: "tcp4", "udp6", "unix-stream".
    /// </summary>
    public string Kind
    {
        get
        {
            if (!IsInternet)
            {
                var familyName = Family == AddressFamily.Unix ? "unix" : $"family{FamilyNumber}";
                return $"{familyName}-{Type.ToString().ToLowerInvariant()}";
            }
            var protocolName = Type == SocketType.Raw ? "raw" : (int)Protocol switch
            {
                6 => "tcp",
                17 => "udp",
                132 => "sctp",
                136 => "udplite",
                262 => "mptcp",
                var number => $"proto{number}",
            };
            return protocolName + (Family == AddressFamily.InterNetwork ? "4" : "6");
        }
    }

    /// <summary>The state in one word: listen, established, connected, bound or unbound.</summary>
    public string State =>
        IsListening ? "listen"
        : IsEstablished ? "established"
        : IsConnected ? "connected"
        : LocalEndPoint is { Port: not 0 } ? "bound"
        : IsInternet ? "unbound"
        : "open";

    /// <summary>For example "tcp4 listen 127.0.0.1:8080 cookie 123 netns 4026531840 reuseport".</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Kind).Append(' ').Append(State);
        if (LocalEndPoint is not null)
            text.Append(' ').Append(LocalEndPoint);
        if (RemoteEndPoint is not null)
            text.Append(" -> ").Append(RemoteEndPoint);
        text.Append(" cookie ").Append(Cookie);
        if (NetNsInode is { } inode)
            text.Append(" netns ").Append(inode);
        if (IsV6Only)
            text.Append(" v6only");
        if (ReusePort)
            text.Append(" reuseport");
        return text.ToString();
    }
}
