using System.Net;
using System.Net.Sockets;
using System.Text;
using SkLookup.Cli.Metrics;
using SkLookup.DataPlane;
using SkLookup.TestKit;

namespace SkLookup.Cli.Tests;

/// <summary><c>sklookup metrics</c>: the Prometheus text and the HTTP server, scraped from inside the sandbox.</summary>
public sealed class MetricsTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void TextHasHelpTypeAndOneSamplePerDestinationWithEscapedLabels()
    {
        var bindings = new[] { Binding.Parse("we\"b", "tcp", "192.0.2.0/24", "80"), Binding.Parse("we\"b", "tcp", "192.0.2.0/25", "81") };
        var destinations = new[]
        {
            new DestinationStatus("we\"b", Family.IPv4, Protocol.Tcp, 0, 42, new DestinationCounts(7, 1, 2), false),
            new DestinationStatus("proxy", Family.IPv6, Protocol.Udp, 1, null, default, true),
        };

        var text = PrometheusText.Render(bindings, destinations);

        Assert.Contains("# TYPE sklookup_lookups_total counter\n", text);
        Assert.Contains("sklookup_lookups_total{label=\"we\\\"b\",family=\"ipv4\",protocol=\"tcp\"} 7\n", text);
        Assert.Contains("sklookup_misses_total{label=\"we\\\"b\",family=\"ipv4\",protocol=\"tcp\"} 1\n", text);
        Assert.Contains("sklookup_errors_total{label=\"we\\\"b\",family=\"ipv4\",protocol=\"tcp\"} 2\n", text);
        Assert.Contains("sklookup_socket_registered{label=\"proxy\",family=\"ipv6\",protocol=\"udp\"} 0\n", text);
        Assert.Contains("sklookup_bindings{label=\"we\\\"b\",family=\"ipv4\",protocol=\"tcp\"} 2\n", text);
        Assert.Contains("sklookup_dispatcher_loaded 1\n", text);
        Assert.EndsWith("\n", text);
    }

    [Fact]
    public void ServesCountersOfRealTrafficAndStopsWhenCancelled()
    {
        _sandbox.NetNs.AddLocalRoute("192.0.2.0/24");
        using var listener = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var cancellation = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new StringWriter();
        // The server listens in the namespace the tool runs in, so the tool runs in the sandbox's.
        var exitCode = -1;
        var run = new Thread(() => exitCode = _sandbox.NetNs.Run(() => CliApp.Run(
            ["metrics", "--listen", "127.0.0.1:9090", "--netns", _sandbox.NetNsPath, "--bpffs", _sandbox.BpfFs.Path],
            output, error, cancellation.Token)));
        run.Start();
        try
        {
            var before = Scrape("/metrics");
            _sandbox.Run("load").AssertOk();
            _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
            _sandbox.Run("register-pid", Environment.ProcessId.ToString(), "web", "tcp", "127.0.0.1", "8080").AssertOk();
            for (var i = 1; i <= 3; i++)
                Traffic.ConnectAndFindAcceptor(_sandbox.NetNs, new IPEndPoint(IPAddress.Parse($"192.0.2.{i}"), 80), listener);
            var after = Scrape("/metrics");
            var missing = Scrape("/nothing");

            Assert.StartsWith("HTTP/1.1 200 OK", before);
            Assert.Contains("sklookup_dispatcher_loaded 0", before);
            Assert.StartsWith("HTTP/1.1 200 OK", after);
            Assert.Contains("Content-Type: text/plain; version=0.0.4", after);
            Assert.Contains("sklookup_lookups_total{label=\"web\",family=\"ipv4\",protocol=\"tcp\"} 3", after);
            Assert.Contains("sklookup_socket_registered{label=\"web\",family=\"ipv4\",protocol=\"tcp\"} 1", after);
            Assert.StartsWith("HTTP/1.1 404", missing);
        }
        finally
        {
            cancellation.Cancel();
        }
        Assert.True(run.Join(TestTiming.Scale(TimeSpan.FromSeconds(30))), "metrics did not stop when cancelled");
        Assert.Equal(0, exitCode);
        Assert.Contains("http://127.0.0.1:9090/metrics", output.ToString());
    }

    private static string RequestTimeout => TestTiming.Scale(TimeSpan.FromSeconds(5)).TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task IdleConnectionsDoNotDelayAScrapeAndConcurrentScrapesAreServed()
    {
        using var cancellation = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var run = new Thread(() => _sandbox.NetNs.Run(() => CliApp.Run(
            ["metrics", "--listen", "127.0.0.1:9090", "--request-timeout", RequestTimeout, "--netns", _sandbox.NetNsPath, "--bpffs", _sandbox.BpfFs.Path],
            output, error, cancellation.Token)));
        run.Start();
        var idle = new List<Socket>();
        try
        {
            _sandbox.Run("load").AssertOk();
            Assert.StartsWith("HTTP/1.1 200 OK", Scrape("/metrics")); // listening
            // Three clients that connect and say nothing: the server gives each the request timeout (5 s, stretched where
            // the machine is slow, e.g. under TCG in the kernel matrix, where 16 scrapes take longer than 5 s).
            for (var i = 0; i < 3; i++)
            {
                var socket = _sandbox.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Connect(new IPEndPoint(IPAddress.Loopback, 9090));
                idle.Add(socket);
            }

            var scrapes = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => Scrape("/metrics"))));

            Assert.All(scrapes, response => Assert.Contains("sklookup_dispatcher_loaded 1", response));
            // They were answered while the idle clients were still being waited for (not after their deadline):
            // the server has not closed any of them yet.
            Assert.All(idle, socket => Assert.False(socket.Poll(0, SelectMode.SelectRead), "the server closed an idle client before the scrapes were answered"));
        }
        finally
        {
            cancellation.Cancel();
            foreach (var socket in idle)
                socket.Dispose();
        }
        Assert.True(run.Join(TimeSpan.FromSeconds(30)), "metrics did not stop when cancelled");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3601")]
    [InlineData("soon")]
    public void ARequestTimeoutOutOfRangeIsAUsageError(string seconds)
    {
        var result = _sandbox.Run("metrics", "--listen", "127.0.0.1:9093", "--request-timeout", seconds).AssertOneLineError(2);

        Assert.Contains("--request-timeout", result.Error);
    }

    [Fact]
    public void ABadListenAddressIsAUsageError()
    {
        var result = _sandbox.Run("metrics", "--listen", "nowhere").AssertOneLineError(2);

        Assert.Contains("ADDR:PORT", result.Error);
    }

    [Fact]
    public void TubectlsAddrPortFormServesToo()
    {
        using var cancellation = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = -1;
        var run = new Thread(() => exitCode = _sandbox.NetNs.Run(() => CliApp.Run(
            ["metrics", "127.0.0.1", "9090", "--netns", _sandbox.NetNsPath, "--bpffs", _sandbox.BpfFs.Path],
            output, error, cancellation.Token)));
        run.Start();
        try
        {
            Assert.Contains("sklookup_dispatcher_loaded 0", Scrape("/metrics"));
        }
        finally
        {
            cancellation.Cancel();
        }
        Assert.True(run.Join(TimeSpan.FromSeconds(30)), "metrics did not stop when cancelled");
        Assert.Equal(0, exitCode);
    }

    [Theory]
    [InlineData("127.0.0.1")]                                   // no port
    [InlineData("localhost", "9090")]                           // not an address
    [InlineData("127.0.0.1", "70000")]                          // not a port
    [InlineData("127.0.0.1", "9090", "--listen", "127.0.0.1:9091")] // both forms
    [InlineData]                                                // neither
    public void BadAddrPortFormsAreUsageErrors(params string[] args) =>
        _sandbox.Run(["metrics", .. args]).AssertOneLineError(2);

    /// <summary>GETs <paramref name="path"/> from the server inside the sandbox, retrying until it listens.</summary>
    private string Scrape(string path)
    {
        var deadline = DateTime.UtcNow + TestTiming.Scale(TimeSpan.FromSeconds(20));
        while (true)
        {
            using var client = _sandbox.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                client.Connect(new IPEndPoint(IPAddress.Loopback, 9090));
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
                continue;
            }
            client.ReceiveTimeout = (int)TestTiming.Scale(TimeSpan.FromSeconds(10)).TotalMilliseconds;
            client.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: sandbox\r\n\r\n"));
            var response = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = client.Receive(buffer)) > 0)
                response.Write(buffer, 0, read);
            return Encoding.UTF8.GetString(response.ToArray());
        }
    }
}
