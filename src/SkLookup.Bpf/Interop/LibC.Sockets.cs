namespace SkLookup.Bpf.Interop;

/// <summary>
/// Kernel constants for sockets: inspecting and moving them (Sockets/, SocketIntake/), and the
/// netlink and ioctl sockets of NetworkSetup/. The entry points themselves are declared in LibC.cs.
/// </summary>
internal static partial class LibC
{
    // <linux/socket.h>, <asm-generic/socket.h>: the same numbers on x86_64 and arm64.
    internal const int AF_UNIX = 1;
    internal const int AF_INET = 2;
    internal const int AF_INET6 = 10;
    internal const int AF_NETLINK = 16;
    internal const int SOCK_DGRAM = 2;
    internal const int SOCK_RAW = 3;
    internal const int SOCK_CLOEXEC = 0x80000;
    /// <summary>The rtnetlink protocol of an AF_NETLINK socket (<c>&lt;linux/netlink.h&gt;</c>).</summary>
    internal const int NETLINK_ROUTE = 0;
    internal const int SOL_SOCKET = 1;
    internal const int SO_TYPE = 3;
    internal const int SO_REUSEPORT = 15;
    internal const int SO_ACCEPTCONN = 30;
    internal const int SO_PROTOCOL = 38;
    internal const int SO_DOMAIN = 39;
    internal const int SO_COOKIE = 57;

    // <netinet/in.h>, <linux/in6.h>, <linux/tcp.h>
    internal const int IPPROTO_TCP = 6;
    internal const int IPPROTO_IPV6 = 41;
    internal const int IPV6_V6ONLY = 26;
    internal const int TCP_INFO = 11;
    /// <summary><c>TCP_ESTABLISHED</c> in <c>enum tcp_state</c>, the first byte of <c>struct tcp_info</c>.</summary>
    internal const byte TCP_ESTABLISHED = 1;

    /// <summary><c>SIOCGSKNS</c>: returns a new fd (close-on-exec) of the socket's network namespace. Linux 4.9.</summary>
    internal const ulong SIOCGSKNS = 0x894C;

    // <fcntl.h>
    internal const int F_GETFD = 1;
    internal const int F_SETFD = 2;
    internal const int FD_CLOEXEC = 1;

    // The generic syscall table numbers, which x86_64 and arm64 share for these late additions.
    internal const long SYS_pidfd_open = 434;
    internal const long SYS_pidfd_getfd = 438;

    /// <summary>ENOSYS: the kernel does not know the syscall.</summary>
    internal const int ENOSYS = 38;

    /// <summary>Size of <c>struct sockaddr_storage</c>.</summary>
    internal const int SockaddrStorageSize = 128;
}
