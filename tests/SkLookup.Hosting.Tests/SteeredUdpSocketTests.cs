using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>
/// A steered UDP socket answers from the address and port each client sent to: connected clients (which
/// drop any other reply) and unconnected ones, specific-port and any-port bindings, IPv4, IPv6 and
/// dual-stack, in a private namespace with the dispatcher loaded.
/// </summary>
public sealed class SteeredUdpSocketTests
{
    [Theory]
    [InlineData("127.0.0.1:5353", false, "192.0.2.7:53")]          // another port: a reply socket bound to 192.0.2.7:53
    [InlineData("127.0.0.1:53", false, "192.0.2.7:53")]            // the socket's own port: IP_PKTINFO sets the source
    [InlineData("[::1]:5353", false, "[2001:db8::7]:53")]
    [InlineData("[::1]:53", false, "[2001:db8::7]:53")]             // IPV6_PKTINFO from an address that is routed, not configured
    [InlineData("[::]:5353", true, "192.0.2.7:53")]                // dual-stack: IPv4 through an IPv6 socket
    [InlineData("[::]:53", true, "192.0.2.7:53")]
    [InlineData("[::]:5353", true, "[2001:db8::7]:53")]
    public async Task ConnectedAndUnconnectedClientsGetTheReplyFromWhereTheySent(string bind, bool dualStack, string destination)
    {
        using var scenario = new HostScenario();
        scenario.Bind("echo", "udp", "192.0.2.0/24", "53");
        scenario.Bind("echo", "udp", "2001:db8::/32", "53");
        using var server = scenario.NetNs.Run(() => SteeredUdpSocket.Bind(IPEndPoint.Parse(bind), dualStack));
        using (var dispatcher = scenario.Open(write: true))
            dispatcher.RegisterSocket("echo", server.Socket, dualStack);
        using var echo = new EchoLoop(server);
        var target = IPEndPoint.Parse(destination);

        using var connected = Client(scenario, target.AddressFamily);
        connected.Connect(target);
        Assert.Equal(target, await RoundTripConnected(connected));

        using var unconnected = Client(scenario, target.AddressFamily);
        var (from, _) = RoundTripUnconnected(unconnected, target);
        Assert.Equal(target, from);

        Assert.All(echo.Seen, datagram => Assert.Equal(target, datagram.Destination));
        Assert.Equal(2, echo.Seen.Count);
        Assert.Equal(IPEndPoint.Parse(bind).Port == 53 ? 0 : 1, server.ReplySocketCount);
    }

    [Theory]
    [InlineData("127.0.0.1:5353", false, "198.51.100.")]
    [InlineData("[::1]:5353", false, "2001:db8:1::")]
    [InlineData("[::]:5353", true, "198.51.100.")]
    public async Task AnyPortBindingRepliesFromEveryPortAConnectedClientSentTo(string bind, bool dualStack, string prefix)
    {
        using var scenario = new HostScenario();
        scenario.NetNs.AddLocalRoute("198.51.100.0/24");
        scenario.Bind("echo", "udp", prefix.Contains(':') ? "2001:db8:1::/48" : "198.51.100.0/24", "any");
        using var server = scenario.NetNs.Run(() => SteeredUdpSocket.Bind(IPEndPoint.Parse(bind), dualStack));
        using (var dispatcher = scenario.Open(write: true))
            dispatcher.RegisterSocket("echo", server.Socket, dualStack);
        using var echo = new EchoLoop(server);

        var random = new Random(20240611);
        var targets = new HashSet<IPEndPoint>();
        while (targets.Count < 40)
            targets.Add(IPEndPoint.Parse($"{(prefix.Contains(':') ? $"[{prefix}{random.Next(1, 0xffff):x}]" : prefix + random.Next(1, 255))}:{random.Next(1, 65536)}"));
        foreach (var target in targets)
        {
            using var client = Client(scenario, target.AddressFamily);
            client.Connect(target);
            Assert.Equal(target, await RoundTripConnected(client));
        }
        Assert.Equal(targets.Count, echo.Seen.Count);
        Assert.True(server.ReplySocketCount <= targets.Count);
    }

    [Fact]
    public async Task ReplySocketsAreCappedAndRepliesStillComeFromTheRightPlace()
    {
        using var scenario = new HostScenario();
        scenario.Bind("echo", "udp", "192.0.2.0/24", "any");
        // Wrapped outside the namespace: told where the socket lives, it makes its reply sockets there.
        using var server = new SteeredUdpSocket(scenario.NetNs.BindUdp(IPEndPoint.Parse("127.0.0.1:5353")), ownsSocket: true, replySocketLimit: 4,
            networkNamespace: scenario.NetNs.Namespace);
        using (var dispatcher = scenario.Open(write: true))
            dispatcher.RegisterSocket("echo", server.Socket);
        using var echo = new EchoLoop(server);

        // Ten destinations through four reply sockets, twice over: evicted ones are made again.
        for (var round = 0; round < 2; round++)
        {
            for (var port = 1000; port < 1010; port++)
            {
                var target = new IPEndPoint(IPAddress.Parse("192.0.2.9"), port);
                using var client = Client(scenario, AddressFamily.InterNetwork);
                client.Connect(target);
                Assert.Equal(target, await RoundTripConnected(client));
                Assert.True(server.ReplySocketCount <= 4, $"{server.ReplySocketCount} reply sockets are open");
            }
        }
    }

    [Fact]
    public async Task AReplySocketNeverTakesTrafficTheDispatcherSteers()
    {
        using var scenario = new HostScenario();
        scenario.Bind("echo", "udp", "192.0.2.0/24", "53");
        using var server = scenario.NetNs.Run(() => SteeredUdpSocket.Bind(IPEndPoint.Parse("127.0.0.1:5353")));
        using (var dispatcher = scenario.Open(write: true))
            dispatcher.RegisterSocket("echo", server.Socket);
        using var echo = new EchoLoop(server);
        var target = IPEndPoint.Parse("192.0.2.7:53");

        // The first reply opens a socket bound to 192.0.2.7:53; later datagrams to it still reach the server.
        for (var i = 0; i < 5; i++)
        {
            using var client = Client(scenario, AddressFamily.InterNetwork);
            client.Connect(target);
            Assert.Equal(target, await RoundTripConnected(client));
        }
        Assert.Equal(5, echo.Seen.Count);
        Assert.Equal(1, server.ReplySocketCount);
    }

    [Fact]
    public void RefusesWhatIsNotABoundUdpSocket()
    {
        using var netns = new TestNetNs();
        using var tcp = netns.Listen(IPEndPoint.Parse("127.0.0.1:8080"));
        Assert.Contains("UDP socket", Assert.Throws<ArgumentException>(() => new SteeredUdpSocket(tcp)).Message, StringComparison.Ordinal);
        using var unbound = netns.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.Contains("not bound", Assert.Throws<ArgumentException>(() => new SteeredUdpSocket(unbound)).Message, StringComparison.Ordinal);
        using var bound = netns.BindUdp(IPEndPoint.Parse("127.0.0.1:5353"));
        // Replies must leave from the socket's namespace, which is not this thread's.
        Assert.Contains("pass its namespace", Assert.Throws<ArgumentException>(() => new SteeredUdpSocket(bound)).Message, StringComparison.Ordinal);
        using var wrapped = new SteeredUdpSocket(bound, networkNamespace: netns.Namespace);
        Assert.Throws<ArgumentException>(() => wrapped.SendReply([1], default)); // Not a received datagram.
    }

    [Fact]
    public async Task ReportsTruncationAndCancelsAWaitingReceive()
    {
        using var netns = new TestNetNs();
        using var server = netns.Run(() => SteeredUdpSocket.Bind(IPEndPoint.Parse("127.0.0.1:5353")));
        using var client = netns.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.SendTo(new byte[100], server.LocalEndPoint);
        var buffer = new byte[10];
        var datagram = await server.ReceiveAsync(buffer).AsTask().WaitAsync(Traffic.Timeout);
        Assert.True(datagram.Truncated);
        Assert.Equal(10, datagram.Length);
        Assert.Equal(server.LocalEndPoint, datagram.Destination); // Not steered: it went where the socket is bound.

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server.ReceiveAsync(buffer, cancel.Token).AsTask());
    }

    /// <summary>A bounded load: clients on both families, each in lock step, and every reply counted.</summary>
    [Fact]
    public async Task UnderLoadEveryDatagramGetsItsReplyFromTheRightSource()
    {
        const int ClientsPerFamily = 4, RoundTrips = 500;
        using var scenario = new HostScenario();
        scenario.Bind("echo", "udp", "192.0.2.0/24", "any");
        scenario.Bind("echo", "udp", "2001:db8::/32", "any");
        using var server = scenario.NetNs.Run(() => SteeredUdpSocket.Bind(IPEndPoint.Parse("[::]:5353"), dualStack: true));
        using (var dispatcher = scenario.Open(write: true))
            dispatcher.RegisterSocket("echo", server.Socket, dualStack: true);
        using var echo = new EchoLoop(server, keep: false);

        var clients = new List<Task<int>>();
        for (var i = 0; i < ClientsPerFamily * 2; i++)
        {
            var target = i % 2 == 0 ? new IPEndPoint(IPAddress.Parse($"192.0.2.{10 + i}"), 7000 + i) : new IPEndPoint(IPAddress.Parse($"2001:db8::{10 + i:x}"), 7000 + i);
            var client = Client(scenario, target.AddressFamily);
            client.Connect(target);
            // Each blocking client on a thread of its own: eight of them on the thread pool would starve the
            // echo loop's continuations on a small machine, and time out on that, not on a lost reply.
            clients.Add(Task.Factory.StartNew(() =>
            {
                using (client)
                {
                    var replies = 0;
                    Span<byte> payload = stackalloc byte[16];
                    Span<byte> reply = stackalloc byte[64];
                    for (var n = 0; n < RoundTrips; n++)
                    {
                        BitConverter.TryWriteBytes(payload, n);
                        BitConverter.TryWriteBytes(payload[8..], target.Port);
                        client.Send(payload);
                        var length = client.Receive(reply); // The socket's receive timeout bounds each wait.
                        if (reply[..length].SequenceEqual(payload))
                            replies++;
                    }
                    return replies;
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }
        var counts = await Task.WhenAll(clients).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.All(counts, count => Assert.Equal(RoundTrips, count));
        Assert.Equal(ClientsPerFamily * 2 * RoundTrips, echo.Count);
    }

    private static Socket Client(HostScenario scenario, AddressFamily family) =>
        scenario.NetNs.Socket(family, SocketType.Dgram, ProtocolType.Udp).WithTimeouts();

    /// <summary>Sends a random payload on a connected socket and returns where the (accepted) echo came from.</summary>
    private static async Task<IPEndPoint> RoundTripConnected(Socket client)
    {
        var payload = Guid.NewGuid().ToByteArray();
        client.Send(payload);
        var buffer = new byte[64];
        // A connected socket only takes datagrams from its peer: a reply from elsewhere never arrives, and this times out.
        using var timeout = new CancellationTokenSource(Traffic.Timeout);
        var length = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        Assert.Equal(payload, buffer[..length]);
        return (IPEndPoint)client.RemoteEndPoint!;
    }

    private static (IPEndPoint From, int Length) RoundTripUnconnected(Socket client, IPEndPoint target)
    {
        var payload = Guid.NewGuid().ToByteArray();
        client.SendTo(payload, target);
        var buffer = new byte[64];
        EndPoint from = new IPEndPoint(target.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        var length = client.ReceiveFrom(buffer, ref from);
        Assert.Equal(payload, buffer[..length]);
        return ((IPEndPoint)from, length);
    }

    /// <summary>Echoes every datagram the socket receives, as samples/UdpEcho does, and keeps what it saw.</summary>
    private sealed class EchoLoop : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly List<SteeredDatagram> _seen = [];
        private int _count;

        public EchoLoop(SteeredUdpSocket socket, bool keep = true)
        {
            _loop = Task.Run(async () =>
            {
                var buffer = new byte[2048];
                while (!_stop.IsCancellationRequested)
                {
                    var datagram = await socket.ReceiveAsync(buffer, _stop.Token);
                    // Counted before the reply, which is what the client waits for.
                    Interlocked.Increment(ref _count);
                    if (keep)
                    {
                        lock (_seen)
                            _seen.Add(datagram);
                    }
                    await socket.SendReplyAsync(buffer.AsMemory(0, datagram.Length), datagram, _stop.Token);
                }
            });
        }

        public int Count => Volatile.Read(ref _count);

        public IReadOnlyList<SteeredDatagram> Seen
        {
            get
            {
                lock (_seen)
                    return [.. _seen];
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            try
            {
                _loop.Wait(Traffic.Timeout);
            }
            catch (AggregateException exception) when (exception.InnerExceptions.All(e => e is OperationCanceledException))
            {
            }
            _stop.Dispose();
        }
    }
}
