using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SkLookup.Cli.Tests.Fuzz;

/// <summary>
/// Live traffic across changes: a bounded loop of TCP connections and UDP datagrams to steady bindings, in a
/// private namespace, while another thread applies sets, binds and unbinds other prefixes, upgrades, and
/// re-registers the labels' sockets. No connection may fail and nothing may reach the wrong socket.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class LiveTrafficTests : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("sklookup-live-").FullName;
    private readonly List<Socket> _sockets = [];

    public void Dispose()
    {
        foreach (var socket in _sockets)
            socket.Dispose();
        Directory.Delete(_directory, recursive: true);
        _sandbox.Dispose();
    }

    private static readonly string[] Steady =
    [
        """{"label":"web","protocol":"tcp","prefix":"192.0.2.0/24","port":80}""",
        """{"label":"web","protocol":"tcp","prefix":"2001:db8::/64","port":80}""",
        """{"label":"dns","protocol":"udp","prefix":"192.0.2.0/24","port":53}""",
        """{"label":"dns","protocol":"udp","prefix":"2001:db8::/64","port":53}""",
    ];

    private Socket Keep(Socket socket)
    {
        lock (_sockets)
            _sockets.Add(socket);
        return socket;
    }

    [Fact]
    public async Task TrafficToSteadyBindingsNeverFailsAcrossChanges()
    {
        var netns = _sandbox.NetNs;
        netns.AddLocalRoute("192.0.2.0/24");
        netns.AddLocalRoute("2001:db8::/64");
        netns.AddLocalRoute("198.51.100.0/24");
        netns.AllowNonLocalBind();
        _sandbox.Run("load").AssertOk();
        // Sockets bound to the very addresses and ports: where traffic would go if a lookup missed the binding.
        var bystanders = new HashSet<Socket>
        {
            Keep(netns.Listen(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 80))),
            Keep(netns.Listen(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 80))),
            Keep(netns.BindUdp(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 53))),
            Keep(netns.BindUdp(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 53))),
        };
        var web = new List<Socket>();
        var dns = new List<Socket>();
        var port = 9000;
        void RegisterGeneration()
        {
            using var dispatcher = Dispatcher.Open(netns.Namespace, _sandbox.BpfFs.Path, write: true);
            var sockets = new[]
            {
                Keep(netns.Listen(new IPEndPoint(IPAddress.Loopback, port))), Keep(netns.Listen(new IPEndPoint(IPAddress.IPv6Loopback, port))),
                Keep(netns.BindUdp(new IPEndPoint(IPAddress.Loopback, port))), Keep(netns.BindUdp(new IPEndPoint(IPAddress.IPv6Loopback, port))),
            };
            port++;
            lock (web)
            {
                web.AddRange(sockets[..2]);
                dns.AddRange(sockets[2..]);
            }
            dispatcher.RegisterSocket("web", sockets[0]);
            dispatcher.RegisterSocket("web", sockets[1]);
            dispatcher.RegisterSocket("dns", sockets[2]);
            dispatcher.RegisterSocket("dns", sockets[3]);
        }
        RegisterGeneration();
        var steadyFile = Path.Combine(_directory, "steady.json");
        File.WriteAllText(steadyFile, "{\"bindings\":[" + string.Join(',', Steady) + "]}");
        _sandbox.Run("apply", steadyFile).AssertOk();

        var trials = FuzzBudget.Trials(300);
        var changes = new Dictionary<string, int> { ["apply"] = 0, ["bind"] = 0, ["unbind"] = 0, ["upgrade"] = 0, ["re-register"] = 0 };
        var changeErrors = new List<string>();
        using var done = new CancellationTokenSource();
        var changer = Task.Run(() =>
        {
            var random = new Random(13);
            var step = 0;
            while (!done.IsCancellationRequested)
            {
                try
                {
                    switch (step++ % 5)
                    {
                        case 0:
                            var churn = Enumerable.Range(0, random.Next(0, 40)).Select(i =>
                                $$"""{"label":"churn","prefix":"198.51.100.{{random.Next(0, 256)}}","port":{{1000 + i}}}""");
                            var file = Path.Combine(_directory, "set.json");
                            File.WriteAllText(file, "{\"bindings\":[" + string.Join(',', Steady.Concat(churn)) + "]}");
                            _sandbox.Run("apply", file).AssertOk();
                            changes["apply"]++;
                            break;
                        case 1:
                            _sandbox.Run("bind", "other", "tcp", "198.51.100.0/25", "7").AssertOk();
                            changes["bind"]++;
                            break;
                        case 2:
                            _sandbox.Run("unbind", "other", "tcp", "198.51.100.0/25", "7").AssertOk();
                            changes["unbind"]++;
                            break;
                        case 3:
                            _sandbox.Run("upgrade").AssertOk();
                            changes["upgrade"]++;
                            break;
                        default:
                            RegisterGeneration();
                            changes["re-register"]++;
                            break;
                    }
                }
                catch (Exception exception)
                {
                    lock (changeErrors)
                        changeErrors.Add(exception.Message.Split('\n')[0]);
                }
                Thread.Sleep(20);
            }
        });

        int tcpFailed = 0, tcpWrong = 0, udpFailed = 0, udpWrong = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < trials && clock.Elapsed < TimeSpan.FromMinutes(5); i++)
        {
            var host = 1 + (i % 250);
            var v4 = i % 2 == 0;
            var address = IPAddress.Parse(v4 ? $"192.0.2.{host}" : $"2001:db8::{host:x}");
            // Fresh on every poll: a generation registered after the connect is where it may go.
            Socket[] listeners()
            {
                lock (web)
                    return [.. web, .. bystanders.Where(s => s.SocketType == SocketType.Stream)];
            }
            Socket[] receivers()
            {
                lock (web)
                    return [.. dns, .. bystanders.Where(s => s.SocketType == SocketType.Dgram)];
            }
            var accepted = Connect(netns, new IPEndPoint(address, 80), listeners);
            if (accepted is null)
                tcpFailed++;
            else if (!listeners().Take(web.Count).Contains(accepted))
                tcpWrong++;
            var received = Send(netns, new IPEndPoint(address, 53), receivers);
            if (received is null)
                udpFailed++;
            else if (!receivers().Take(dns.Count).Contains(received))
                udpWrong++;
        }
        done.Cancel();
        await changer.WaitAsync(TimeSpan.FromMinutes(1));

        var summary = string.Join(", ", changes.Select(c => $"{c.Value} {c.Key}"));
        FuzzBudget.Record("live-traffic", "TCP connections to steady bindings across changes: none failed, none reached another socket", trials, tcpFailed + tcpWrong,
            $"connections alternating IPv4 and IPv6 to 250 addresses of two steady prefixes, each accepted by a listener of its label (not by the bystander bound to that address and port), while {summary} ran (apply and bind through the CLI in-process; {changeErrors.Count} change errors); failed {tcpFailed}, misdelivered {tcpWrong}");
        FuzzBudget.Record("live-traffic", "UDP datagrams to steady bindings across the same changes: none lost, none reached another socket", trials, udpFailed + udpWrong,
            $"one datagram with a random payload after each connection, read back by a socket of its label; lost {udpFailed}, misdelivered {udpWrong}");
        Assert.Empty(changeErrors);
        Assert.Equal((0, 0, 0, 0), (tcpFailed, tcpWrong, udpFailed, udpWrong));
        Assert.All(changes.Values, count => Assert.True(count > 0, summary));
    }

    private static Socket? Connect(SkLookup.TestKit.TestNetNs netns, IPEndPoint destination, Func<Socket[]> listeners)
    {
        using var client = netns.Socket(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            client.Connect(destination);
        }
        catch (SocketException)
        {
            return null;
        }
        return Find(listeners, socket => socket.Accept().Dispose());
    }

    private static Socket? Send(SkLookup.TestKit.TestNetNs netns, IPEndPoint destination, Func<Socket[]> receivers)
    {
        var payload = Guid.NewGuid().ToByteArray();
        using var client = netns.Socket(destination.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        client.SendTo(payload, destination);
        var buffer = new byte[64];
        Socket? from = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (from is null && DateTime.UtcNow < deadline)
        {
            from = Find(receivers, socket =>
            {
                var length = socket.Receive(buffer);
                if (!buffer.AsSpan(0, length).SequenceEqual(payload))
                    throw new InvalidOperationException("a stale datagram"); // not ours: look again
            });
        }
        return from;
    }

    /// <summary>The socket among <paramref name="sockets"/> that becomes readable within 5 s, after <paramref name="take"/> consumed what it had.</summary>
    private static Socket? Find(Func<Socket[]> sockets, Action<Socket> take)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            var ready = new List<Socket>(sockets());
            Socket.Select(ready, null, null, TimeSpan.FromMilliseconds(50));
            if (ready.Count == 0)
                continue;
            try
            {
                take(ready[0]);
                return ready[0];
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
        return null;
    }
}
