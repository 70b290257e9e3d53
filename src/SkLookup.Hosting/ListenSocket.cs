using System.Net;
using System.Net.Sockets;

namespace SkLookup.Hosting;

/// <summary>Creates the listening sockets that <see cref="KestrelServerOptionsExtensions"/> hands to Kestrel.</summary>
internal static class ListenSocket
{
    private const int SolSocket = 1, SoReusePort = 15; // <asm-generic/socket.h>

    /// <summary>A TCP socket bound to <paramref name="endPoint"/> and listening, so it can be registered before Kestrel starts accepting.</summary>
    public static Socket Create(IPEndPoint endPoint, bool reusePort, bool dualStack)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = dualStack;
            if (reusePort)
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            socket.Bind(endPoint);
            socket.Listen(512);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
