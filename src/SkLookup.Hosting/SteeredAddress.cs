using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using SkLookup.Bpf;

namespace SkLookup.Hosting;

/// <summary>
/// The address a client dialled, for a connection that sk_lookup steered to a listener bound elsewhere.
/// </summary>
/// <remarks>
/// .NET fills an accepted socket's <see cref="Socket.LocalEndPoint"/> from its listener when the listener is
/// bound to a specific address, and Kestrel's <c>HttpContext.Connection.LocalIpAddress</c> comes from there.
/// For a steered connection that is the listener's address (say 127.0.0.1:8080), not the one the client
/// connected to (say 192.0.2.7:80). The kernel knows the real one: <c>getsockname</c> on the connection.
/// </remarks>
public static class SteeredAddress
{
    /// <summary>
    /// The local address and port of <paramref name="socket"/> as the kernel reports it (an IPv4-mapped IPv6
    /// address comes back as IPv4), or null when there is none to report: the socket is closed (Kestrel
    /// closes a connection's socket once the client has gone), or it is not an IPv4 or IPv6 socket. It never throws.
    /// </summary>
    public static IPEndPoint? Of(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        try
        {
            return Unmapped(SocketHandles.LocalEndPoint(socket));
        }
        catch (ObjectDisposedException)
        {
            return null; // Closed, and its descriptor number possibly reused: nothing to ask the kernel.
        }
        catch (BpfException)
        {
            return null; // getsockname refused, e.g. EBADF for a descriptor closed under the Socket.
        }
    }

    /// <summary>
    /// The address the client of <paramref name="context"/> dialled, or null when the connection is gone
    /// (the client closed it, and Kestrel closed its socket) or is not a socket of Kestrel's socket
    /// transport (another transport, or a test server). It never throws.
    /// </summary>
    public static IPEndPoint? Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            return context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket ? Of(socket) : null;
        }
        catch (ObjectDisposedException)
        {
            return null; // The connection's features went with it.
        }
    }

    /// <summary>An endpoint that getsockname returned, with an IPv4-mapped IPv6 address as IPv4.</summary>
    private static IPEndPoint? Unmapped(IPEndPoint? endPoint) => endPoint switch
    {
        { Address.IsIPv4MappedToIPv6: true } => new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port),
        _ => endPoint,
    };

    /// <summary>Reads a <c>sockaddr_in</c> or <c>sockaddr_in6</c> with the core's parser (<see cref="SocketAddressParser"/>), unmapping IPv4; null for another family.</summary>
    internal static IPEndPoint? Parse(ReadOnlySpan<byte> address) => Unmapped(SocketAddressParser.Parse(address));
}
