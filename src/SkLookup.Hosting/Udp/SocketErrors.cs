using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SkLookup.Hosting;

/// <summary>Turns an errno from our own socket calls into the <see cref="SocketException"/> .NET would throw.</summary>
internal static class SocketErrors
{
    /// <summary>The exception for <paramref name="errno"/>, saying what was being done.</summary>
    public static SocketException For(int errno, string what) =>
        new((int)ToSocketError(errno), $"{what}: {Marshal.GetPInvokeErrorMessage(errno)}");

    /// <summary>The <see cref="SocketError"/> for an errno of Linux (x86_64 and arm64 share the numbers).</summary>
    public static SocketError ToSocketError(int errno) => errno switch
    {
        1 or 13 => SocketError.AccessDenied,          // EPERM, EACCES
        9 or 88 => SocketError.NotSocket,             // EBADF, ENOTSOCK
        11 => SocketError.WouldBlock,                 // EAGAIN
        22 => SocketError.InvalidArgument,            // EINVAL
        90 => SocketError.MessageSize,                // EMSGSIZE
        97 => SocketError.AddressFamilyNotSupported,  // EAFNOSUPPORT
        98 => SocketError.AddressAlreadyInUse,        // EADDRINUSE
        99 => SocketError.AddressNotAvailable,        // EADDRNOTAVAIL
        101 => SocketError.NetworkUnreachable,        // ENETUNREACH
        105 => SocketError.NoBufferSpaceAvailable,    // ENOBUFS
        111 => SocketError.ConnectionRefused,         // ECONNREFUSED
        113 => SocketError.HostUnreachable,           // EHOSTUNREACH
        _ => SocketError.SocketError,
    };
}
