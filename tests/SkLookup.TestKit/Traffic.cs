using System.Net;
using System.Net.Sockets;

namespace SkLookup.TestKit;

/// <summary>Real traffic that proves where a packet went.</summary>
public static class Traffic
{
    /// <summary>The time any single step may take before the test fails instead of hanging (stretched under emulation, see <see cref="TestTiming"/>).</summary>
    public static readonly TimeSpan Timeout = TestTiming.Scale(TimeSpan.FromSeconds(5));

    /// <summary>
    /// Connects to <paramref name="destination"/> from inside <paramref name="netns"/> and returns which of
    /// <paramref name="listeners"/> accepted it (its index), or throws the client's SocketException
    /// (ECONNREFUSED when sk_lookup dropped it).
    /// </summary>
    public static int ConnectAndFindAcceptor(TestNetNs netns, IPEndPoint destination, params Socket[] listeners)
    {
        using var client = netns.Socket(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(destination);
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            for (var i = 0; i < listeners.Length; i++)
            {
                if (listeners[i].Poll(TimeSpan.FromMilliseconds(10), SelectMode.SelectRead))
                {
                    using var accepted = listeners[i].Accept();
                    return i;
                }
            }
        }
        throw new TimeoutException($"no listener accepted the connection to {destination}");
    }

    /// <summary>
    /// Sends a datagram with a random payload to <paramref name="destination"/> and returns which of
    /// <paramref name="receivers"/> read it, or -1 if none did within the timeout.
    /// </summary>
    public static int SendAndFindReceiver(TestNetNs netns, IPEndPoint destination, params Socket[] receivers)
    {
        var payload = Guid.NewGuid().ToByteArray();
        using var client = netns.Socket(destination.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        client.SendTo(payload, destination);
        var deadline = DateTime.UtcNow + Timeout;
        var buffer = new byte[64];
        while (DateTime.UtcNow < deadline)
        {
            for (var i = 0; i < receivers.Length; i++)
            {
                if (receivers[i].Poll(TimeSpan.FromMilliseconds(10), SelectMode.SelectRead))
                {
                    var length = receivers[i].Receive(buffer);
                    if (buffer.AsSpan(0, length).SequenceEqual(payload))
                        return i;
                }
            }
        }
        return -1;
    }
}
