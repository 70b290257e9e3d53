using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;

namespace SkLookup.TestKit;

/// <summary>
/// The local address of a socket as the kernel reports it (<c>getsockname</c>, through the core's
/// <see cref="SocketHandles.LocalEndPoint"/>).
/// </summary>
/// <remarks>
/// .NET's <see cref="Socket.LocalEndPoint"/> of an accepted connection is copied from the listener when the
/// listener is bound to a specific address and has reported its own LocalEndPoint before. A connection that
/// sk_lookup steered to that listener was made to another address, so .NET then reports the wrong one.
/// </remarks>
public static class SocketName
{
    /// <summary>The address and port <paramref name="socket"/> is bound to, straight from the kernel.</summary>
    public static IPEndPoint Local(Socket socket) =>
        SocketHandles.LocalEndPoint(socket) ?? throw new InvalidOperationException($"{socket.LocalEndPoint} is not an IPv4 or IPv6 socket");
}
