using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using SkLookup.Hosting.Interop;

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
public static unsafe class SteeredAddress
{
    /// <summary>The local address and port of <paramref name="socket"/> as the kernel reports it; an IPv4-mapped IPv6 address comes back as IPv4.</summary>
    /// <exception cref="SocketException">getsockname failed, e.g. because the socket is closed.</exception>
    public static IPEndPoint Of(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            // Keeps the descriptor number from being closed and reused while the kernel reads it.
            handle.DangerousAddRef(ref added);
            return Read((int)handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>
    /// The address the client of <paramref name="context"/> dialled, or null when the connection is not a
    /// socket of Kestrel's socket transport (another transport, or a test server).
    /// </summary>
    public static IPEndPoint? Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket ? Of(socket) : null;
    }

    private static IPEndPoint Read(int fd)
    {
        const int StorageSize = 128; // sizeof(struct sockaddr_storage)
        var buffer = stackalloc byte[StorageSize];
        var length = (uint)StorageSize;
        if (LibC.GetSockName(fd, buffer, &length) != 0)
            throw new SocketException(Marshal.GetLastPInvokeError());
        return Parse(new ReadOnlySpan<byte>(buffer, (int)Math.Min(length, StorageSize)));
    }

    /// <summary>Reads a <c>sockaddr_in</c> or <c>sockaddr_in6</c>: family (host order), port (network order), then the address.</summary>
    internal static IPEndPoint Parse(ReadOnlySpan<byte> address)
    {
        const ushort AfInet = 2, AfInet6 = 10;
        if (address.Length < 2)
            throw new SocketException((int)SocketError.AddressFamilyNotSupported);
        var family = MemoryMarshal.Read<ushort>(address);
        if (family == AfInet && address.Length >= 8)
            return new IPEndPoint(new IPAddress(address.Slice(4, 4)), Port(address));
        if (family == AfInet6 && address.Length >= 28)
        {
            var scope = MemoryMarshal.Read<uint>(address.Slice(24, 4));
            var ip = new IPAddress(address.Slice(8, 16), scope);
            return new IPEndPoint(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip, Port(address));
        }
        throw new SocketException((int)SocketError.AddressFamilyNotSupported);
    }

    private static int Port(ReadOnlySpan<byte> address) => address[2] << 8 | address[3];
}
