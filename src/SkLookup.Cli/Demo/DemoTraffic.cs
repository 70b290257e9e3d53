using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;

namespace SkLookup.Cli.Demo;

/// <summary>A socket the demo registered for a label.</summary>
/// <param name="Label">The label it serves.</param>
/// <param name="Protocol">TCP (a listener) or UDP.</param>
/// <param name="Socket">The socket, created inside the demo's namespace.</param>
internal sealed record DemoSocket(string Label, Protocol Protocol, Socket Socket)
{
    /// <summary>For example "tcp listener 127.0.0.1:8080" (kept, so it can be printed after the socket is closed).</summary>
    public string Description { get; } = $"{Protocol.Name()} {(Protocol == Protocol.Tcp ? "listener" : "socket")} {Socket.LocalEndPoint}";
}

/// <summary>Where one connection or datagram went.</summary>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="Destination">Where it was sent.</param>
/// <param name="Expected">The label the bindings send it to, or null if none matches.</param>
/// <param name="ArrivedAt">The socket that accepted or received it, or null.</param>
/// <param name="Outcome">What the client saw when nothing arrived, e.g. "refused".</param>
internal sealed record DemoDelivery(Protocol Protocol, IPEndPoint Destination, string? Expected, DemoSocket? ArrivedAt, string? Outcome)
{
    /// <summary>True if it went where the bindings say: to the expected label, or, with no binding, nowhere.</summary>
    public bool AsExpected => ArrivedAt?.Label == Expected;
}

/// <summary>Sends real connections and datagrams inside the demo's namespace and finds out which socket got them.</summary>
internal static class DemoTraffic
{
    /// <summary>The longest any single delivery may take before it counts as lost.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Connects to <paramref name="destination"/> and returns the listener whose accept returned it.</summary>
    public static (DemoSocket? ArrivedAt, string? Outcome) Connect(NetworkNamespace netns, IPEndPoint destination, IReadOnlyList<DemoSocket> listeners)
    {
        using var client = netns.Run(() => new Socket(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        try
        {
            client.Connect(destination);
        }
        catch (SocketException exception)
        {
            // An sk_lookup drop, like a port without a listener, answers the SYN with a RST.
            return (null, exception.SocketErrorCode == SocketError.ConnectionRefused ? "refused" : exception.Message);
        }
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var listener in listeners)
            {
                if (listener.Socket.Poll(TimeSpan.FromMilliseconds(5), SelectMode.SelectRead))
                {
                    using var accepted = listener.Socket.Accept();
                    return (listener, null);
                }
            }
        }
        return (null, "connected, but no listener accepted it");
    }

    /// <summary>Sends a datagram with a random payload to <paramref name="destination"/> and returns the socket that read it.</summary>
    public static (DemoSocket? ArrivedAt, string? Outcome) Send(NetworkNamespace netns, IPEndPoint destination, IReadOnlyList<DemoSocket> receivers)
    {
        var payload = Guid.NewGuid().ToByteArray();
        using var client = netns.Run(() => new Socket(destination.AddressFamily, SocketType.Dgram, ProtocolType.Udp));
        // Connected, so that the ICMP port unreachable for an undelivered datagram surfaces as ECONNREFUSED.
        client.Connect(destination);
        client.Send(payload);
        var buffer = new byte[64];
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var receiver in receivers)
            {
                if (receiver.Socket.Poll(TimeSpan.FromMilliseconds(5), SelectMode.SelectRead))
                {
                    var length = receiver.Socket.Receive(buffer);
                    if (buffer.AsSpan(0, length).SequenceEqual(payload))
                        return (receiver, null);
                }
            }
            if (WasRefused(client))
                return (null, "refused (ICMP port unreachable)");
        }
        return (null, "no socket read it");
    }

    /// <summary>True if the kernel reported ECONNREFUSED on the connected client (the ICMP error is queued on the socket, not readable data).</summary>
    private static bool WasRefused(Socket client)
    {
        var error = (int)client.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        return error == (int)SocketError.ConnectionRefused || error == Bpf.Errno.ECONNREFUSED;
    }
}
