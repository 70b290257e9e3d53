using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SkLookup.TestKit;

/// <summary>
/// The local address of a socket as the kernel reports it (<c>getsockname</c>).
/// </summary>
/// <remarks>
/// .NET's <see cref="Socket.LocalEndPoint"/> of an accepted connection is copied from the listener when the
/// listener is bound to a specific address and has reported its own LocalEndPoint before. A connection that
/// sk_lookup steered to that listener was made to another address, so .NET then reports the wrong one.
/// </remarks>
public static unsafe partial class SocketName
{
    /// <summary>The address and port <paramref name="socket"/> is bound to, straight from the kernel.</summary>
    public static IPEndPoint Local(Socket socket)
    {
        Span<byte> address = stackalloc byte[128]; // sockaddr_storage
        var length = (uint)address.Length;
        fixed (byte* pointer = address)
        {
            if (GetSockName((int)socket.Handle, pointer, &length) != 0)
                throw new SocketException(Marshal.GetLastPInvokeError());
        }
        return OriginalDestination.ParseSocketAddress(address[..(int)length]);
    }

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    private static partial int GetSockName(int fd, byte* address, uint* length);
}
