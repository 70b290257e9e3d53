using System.Net;
using System.Net.Sockets;

namespace SkLookup.TestKit;

/// <summary>
/// The kernel suite's echo tests: the client sends a payload, the server it should have reached reads it
/// and sends it back, and the client reads the echo. Success proves that this very server got the data.
/// Every blocking step is bounded by <see cref="Traffic.Timeout"/>.
/// </summary>
public static class Echo
{
    /// <summary>Sets send and receive timeouts of <see cref="Traffic.Timeout"/> on <paramref name="socket"/>.</summary>
    public static T WithTimeouts<T>(this T socket) where T : Socket
    {
        socket.SendTimeout = (int)Traffic.Timeout.TotalMilliseconds;
        socket.ReceiveTimeout = (int)Traffic.Timeout.TotalMilliseconds;
        return socket;
    }

    /// <summary>
    /// Connects <paramref name="client"/> to <paramref name="destination"/>, giving up after
    /// <see cref="Traffic.Timeout"/>. A refused connection throws the SocketException (ConnectionRefused).
    /// </summary>
    public static void Connect(Socket client, EndPoint destination)
    {
        using var timeout = new CancellationTokenSource(Traffic.Timeout);
        try
        {
            client.ConnectAsync(destination, timeout.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"connecting to {destination} took longer than {Traffic.Timeout.TotalSeconds} s");
        }
    }

    /// <summary>
    /// Echoes through <paramref name="listener"/> over the connected TCP <paramref name="client"/>: accepts the
    /// connection, reads the payload, sends it back, and checks that the client reads the same bytes.
    /// </summary>
    /// <returns>The accepted connection's local endpoint: the address and port the client connected to.</returns>
    public static IPEndPoint Tcp(Socket client, Socket listener)
    {
        var payload = Guid.NewGuid().ToByteArray();
        client.WithTimeouts().Send(payload);
        if (!listener.Poll(Traffic.Timeout, SelectMode.SelectRead))
            throw new TimeoutException($"listener {listener.LocalEndPoint} got no connection within {Traffic.Timeout.TotalSeconds} s");
        using var accepted = listener.Accept().WithTimeouts();
        var received = ReceiveExactly(accepted, payload.Length);
        accepted.Send(received);
        var echo = ReceiveExactly(client, payload.Length);
        if (!echo.AsSpan().SequenceEqual(payload))
            throw new InvalidOperationException("the echo differs from what the client sent");
        return SocketName.Local(accepted);
    }

    /// <summary>
    /// Echoes through <paramref name="server"/> over the connected UDP <paramref name="client"/>: the server
    /// reads the datagram with its original destination and replies from that address (from a new socket
    /// in <paramref name="netns"/>), and the client must read the same bytes.
    /// </summary>
    /// <returns>The original destination of the datagram: the address and port the client sent to.</returns>
    public static IPEndPoint Udp(TestNetNs netns, Socket client, Socket server)
    {
        OriginalDestination.Enable(server);
        var payload = Guid.NewGuid().ToByteArray();
        client.WithTimeouts().Send(payload);
        var buffer = new byte[64];
        var (length, source, destination) = OriginalDestination.Receive(server, buffer);
        if (!buffer.AsSpan(0, length).SequenceEqual(payload))
            throw new InvalidOperationException($"server {server.LocalEndPoint} read a datagram that the client did not send");

        var local = SocketName.Local(server);
        if (local.Equals(destination))
        {
            // The datagram was not steered: the server itself is bound where the client sent.
            server.SendTo(buffer.AsSpan(0, length), source);
            ReceiveEcho(client, payload);
            return destination;
        }

        // A dual-stack IPv6 server sees an IPv4 client as v4-mapped; reply the same way, as the suite does.
        var replyFrom = server.AddressFamily == AddressFamily.InterNetworkV6 && destination.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(destination.Address.MapToIPv6(), destination.Port)
            : destination;
        using var reply = netns.Run(() =>
        {
            var socket = new Socket(replyFrom.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            if (replyFrom.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = replyFrom.Address.IsIPv4MappedToIPv6;
            socket.Bind(replyFrom);
            return socket;
        }).WithTimeouts();
        reply.SendTo(buffer.AsSpan(0, length), source);
        ReceiveEcho(client, payload);
        return destination;
    }

    private static void ReceiveEcho(Socket client, byte[] payload)
    {
        var echo = new byte[64];
        var echoLength = client.Receive(echo);
        if (!echo.AsSpan(0, echoLength).SequenceEqual(payload))
            throw new InvalidOperationException("the echo differs from what the client sent");
    }

    private static byte[] ReceiveExactly(Socket socket, int count)
    {
        var buffer = new byte[count];
        var received = 0;
        while (received < count)
        {
            var n = socket.Receive(buffer, received, count - received, SocketFlags.None);
            if (n == 0)
                throw new InvalidOperationException($"the peer of {socket.LocalEndPoint} closed the connection early");
            received += n;
        }
        return buffer;
    }
}
