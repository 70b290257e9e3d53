using System.Net.Sockets;

namespace SkLookup.Bpf;

/// <summary>Moves sockets between raw descriptors and .NET's <see cref="Socket"/>.</summary>
public static class SocketHandles
{
    /// <summary>
    /// Wraps <paramref name="socket"/> in a .NET <see cref="Socket"/>, which takes over ownership: the
    /// <see cref="FileDescriptor"/> is released, and disposing the Socket closes the descriptor.
    /// </summary>
    /// <exception cref="BpfException">Reason <see cref="BpfErrorReason.WrongSocket"/> if the descriptor is not a socket.</exception>
    public static Socket ToSocket(FileDescriptor socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        EnsureSocket(socket);
        return ToSocket(socket.Release(), ownsHandle: true);
    }

    /// <summary>
    /// Wraps the raw descriptor <paramref name="fd"/> in a .NET <see cref="Socket"/>
    /// (<c>new Socket(new SafeSocketHandle(fd, ownsHandle))</c>). When <paramref name="ownsHandle"/> is
    /// false, the caller keeps the descriptor open for as long as the Socket is used.
    /// </summary>
    public static Socket ToSocket(int fd, bool ownsHandle)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        var handle = new SafeSocketHandle(fd, ownsHandle);
        try
        {
            return new Socket(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Duplicates the descriptor of a .NET <paramref name="socket"/> (close-on-exec). The copy is owned by
    /// the caller and stays valid after the Socket is disposed; both refer to the same kernel socket.
    /// </summary>
    public static FileDescriptor Duplicate(Socket socket) => SocketCalls.WithDescriptor(socket, fd => fd.Duplicate());

    /// <summary>
    /// The local address and port of <paramref name="socket"/> as the kernel reports it (<c>getsockname</c>),
    /// or null for a socket that is not IPv4 or IPv6. For a connection that sk_lookup steered, this is the
    /// address the client dialled, which .NET's <see cref="Socket.LocalEndPoint"/> may not show.
    /// </summary>
    /// <exception cref="BpfException">getsockname failed.</exception>
    public static System.Net.IPEndPoint? LocalEndPoint(Socket socket) => SocketCalls.WithDescriptor(socket, SocketCalls.GetLocalEndPoint);

    private static void EnsureSocket(FileDescriptor fd) =>
        SocketCalls.GetInt(fd, Interop.LibC.SOL_SOCKET, Interop.LibC.SO_TYPE, "the type (SO_TYPE)");
}
