using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>The socket system calls that Sockets/ shares, each turning errno into one clear exception.</summary>
internal static unsafe class SocketCalls
{
    /// <summary>Runs <paramref name="action"/> with a borrowed descriptor of <paramref name="socket"/>, which stays open meanwhile.</summary>
    internal static T WithDescriptor<T>(Socket socket, Func<FileDescriptor, T> action)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            // The reference keeps a concurrent Dispose of the Socket from closing (and the number being reused) under us.
            handle.DangerousAddRef(ref added);
            using var borrowed = new FileDescriptor((int)handle.DangerousGetHandle(), ownsHandle: false);
            return action(borrowed);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>Reads an int-valued socket option.</summary>
    internal static int GetInt(FileDescriptor socket, int level, int name, string what)
    {
        int value = 0;
        uint length = sizeof(int);
        if (LibC.Getsockopt(socket.Value, level, name, &value, ref length) != 0)
            throw Failure(socket, $"read {what}", Marshal.GetLastPInvokeError());
        return value;
    }

    /// <summary>Reads <c>SO_COOKIE</c>.</summary>
    internal static ulong GetCookie(FileDescriptor socket)
    {
        ulong cookie = 0;
        uint length = sizeof(ulong);
        if (LibC.Getsockopt(socket.Value, LibC.SOL_SOCKET, LibC.SO_COOKIE, &cookie, ref length) == 0)
            return cookie;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.ENOPROTOOPT)
            throw new BpfNotSupportedException("reading a socket cookie (SO_COOKIE)", "4.12", errno);
        throw Failure(socket, "read the socket cookie (SO_COOKIE)", errno);
    }

    /// <summary>The first byte of <c>struct tcp_info</c>: the TCP state.</summary>
    internal static byte GetTcpState(FileDescriptor socket)
    {
        // The kernel copies min(length, sizeof(tcp_info)), so a short buffer is enough for the state.
        var info = stackalloc byte[8];
        uint length = 8;
        if (LibC.Getsockopt(socket.Value, LibC.IPPROTO_TCP, LibC.TCP_INFO, info, ref length) != 0)
            throw Failure(socket, "read the TCP state (TCP_INFO)", Marshal.GetLastPInvokeError());
        return info[0];
    }

    /// <summary>The local address (getsockname) of an IPv4 or IPv6 socket, or null for other families.</summary>
    internal static IPEndPoint? GetLocalEndPoint(FileDescriptor socket)
    {
        var address = stackalloc byte[LibC.SockaddrStorageSize];
        uint length = LibC.SockaddrStorageSize;
        if (LibC.Getsockname(socket.Value, address, ref length) != 0)
            throw Failure(socket, "read the local address (getsockname)", Marshal.GetLastPInvokeError());
        return SocketAddressParser.Parse(new ReadOnlySpan<byte>(address, (int)Math.Min(length, (uint)LibC.SockaddrStorageSize)));
    }

    /// <summary>
    /// Whether the socket has a peer (getpeername succeeds), and the peer's address for IPv4 and IPv6.
    /// ENOTCONN is the ordinary answer for listening, bound and unconnected sockets.
    /// </summary>
    internal static bool TryGetPeer(FileDescriptor socket, out IPEndPoint? peer)
    {
        var address = stackalloc byte[LibC.SockaddrStorageSize];
        uint length = LibC.SockaddrStorageSize;
        if (LibC.Getpeername(socket.Value, address, ref length) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.ENOTCONN)
            {
                peer = null;
                return false;
            }
            throw Failure(socket, "read the peer address (getpeername)", errno);
        }
        peer = SocketAddressParser.Parse(new ReadOnlySpan<byte>(address, (int)Math.Min(length, (uint)LibC.SockaddrStorageSize)));
        return true;
    }

    /// <summary>
    /// The inode of the socket's network namespace (SIOCGSKNS), or null when the caller may not open it
    /// (it needs CAP_NET_ADMIN over that namespace) or the kernel is older than 4.9.
    /// </summary>
    internal static ulong? GetNetworkNamespaceInode(FileDescriptor socket)
    {
        var nsFd = LibC.Ioctl(socket.Value, LibC.SIOCGSKNS, null);
        if (nsFd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Errno.EPERM or Errno.EACCES or Errno.EINVAL or ENOTTY)
                return null;
            throw Failure(socket, "open the socket's network namespace (SIOCGSKNS)", errno);
        }
        using var ns = new FileDescriptor(nsFd, ownsHandle: true);
        if (LibC.Fstat(ns.Value, out var stat) != 0)
            throw Errno.Last("stat the socket's network namespace");
        return stat.Inode;
    }

    /// <summary>The inode of any file descriptor; for a socket it is the number in <c>/proc/PID/fd</c>'s "socket:[INODE]".</summary>
    internal static ulong GetInode(FileDescriptor fd)
    {
        if (LibC.Fstat(fd.Value, out var stat) != 0)
            throw Errno.Last($"stat {fd}");
        return stat.Inode;
    }

    /// <summary>
    /// The exception for a failed call on <paramref name="socket"/>. ENOTSOCK gets its own message,
    /// because "operation on non-socket" does not tell a caller which descriptor was wrong.
    /// </summary>
    internal static BpfException Failure(FileDescriptor socket, string operation, int errno)
    {
        if (errno == Errno.ENOTSOCK)
            return NotASocket(socket.Value);
        return Errno.ToException($"{operation} of socket fd {socket.Value}", errno);
    }

    /// <summary>The error for a descriptor that is not a socket.</summary>
    internal static BpfException NotASocket(int fd) =>
        new($"fd {fd} is not a socket (ENOTSOCK); pass the descriptor of a TCP or UDP socket", Errno.ENOTSOCK, BpfErrorReason.WrongSocket);

    private const int ENOTTY = 25;
}
