using System.Net.Sockets;

namespace SkLookup.Bpf;

/// <summary>
/// A socket's cookie: the kernel's 64-bit id of a socket, unique while the machine runs and never
/// reused. It is what a SOCKMAP with 8-byte values returns on lookup, and what
/// <c>bpf_get_socket_cookie</c> sees, so it ties a map entry to a socket.
/// </summary>
public static class SocketCookie
{
    /// <summary>Reads the cookie of <paramref name="socket"/> (<c>getsockopt(SOL_SOCKET, SO_COOKIE)</c>).</summary>
    /// <exception cref="BpfException">Reason <see cref="BpfErrorReason.WrongSocket"/> if the descriptor is not a socket.</exception>
    public static ulong Read(FileDescriptor socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return SocketCalls.GetCookie(socket);
    }

    /// <summary>Reads the cookie of a .NET <paramref name="socket"/>.</summary>
    public static ulong Read(Socket socket) => SocketCalls.WithDescriptor(socket, SocketCalls.GetCookie);
}
