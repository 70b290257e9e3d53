using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SkLookup.Cli.Metrics;

/// <summary>
/// A minimal HTTP/1.1 server for Prometheus scrapes: <c>GET /metrics</c> answers the rendered text,
/// anything else 404 or 405, and every connection closes after one response. It is a raw socket rather
/// than HttpListener or Kestrel so the tool stays small and native-AOT friendly. Connections are served
/// concurrently (up to <see cref="MaxClients"/>), each with a deadline, so a client that connects and says
/// nothing never delays another's scrape.
/// </summary>
internal sealed class MetricsServer : IDisposable
{
    /// <summary>How long a client may take to send its request, unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultRequestDeadline = TimeSpan.FromSeconds(5);

    private const int MaxRequestBytes = 8192;

    /// <summary>Connections served at once; one more is closed at once (and logged), so idle clients cannot exhaust the server.</summary>
    public const int MaxClients = 64;

    private readonly SemaphoreSlim _slots = new(MaxClients, MaxClients);

    private readonly Socket _listener;
    private readonly Func<(int Status, string Body)> _render;
    private readonly Action<string> _log;
    private readonly TimeSpan _requestDeadline;

    /// <summary>Binds and listens on <paramref name="endPoint"/> in the calling thread's namespace.</summary>
    /// <param name="endPoint">Where to listen; port 0 picks a free port.</param>
    /// <param name="render">Produces the HTTP status and the metrics text for one scrape.</param>
    /// <param name="log">Receives one line per failed request.</param>
    /// <param name="requestDeadline">How long a client may take to send its request before it is closed.</param>
    public MetricsServer(IPEndPoint endPoint, Func<(int Status, string Body)> render, Action<string> log, TimeSpan requestDeadline)
    {
        _render = render;
        _log = log;
        _requestDeadline = requestDeadline;
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Bind(endPoint);
            _listener.Listen(16);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
    }

    /// <summary>Where the server listens (with the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Serves until <paramref name="cancellation"/> is signalled, then waits for the connections in flight.</summary>
    public async Task ServeAsync(CancellationToken cancellation)
    {
        var inFlight = new HashSet<Task>();
        while (!cancellation.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (!_slots.Wait(0))
            {
                client.Dispose();
                _log($"more than {MaxClients} connections at once: closed a new one");
                continue;
            }
            var task = Task.Run(() => ServeClientAsync(client, cancellation), CancellationToken.None);
            lock (inFlight)
            {
                inFlight.RemoveWhere(t => t.IsCompleted);
                inFlight.Add(task);
            }
        }
        Task[] remaining;
        lock (inFlight)
            remaining = [.. inFlight];
        await Task.WhenAll(remaining).ConfigureAwait(false);
    }

    private async Task ServeClientAsync(Socket client, CancellationToken cancellation)
    {
        try
        {
            using (client)
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                deadline.CancelAfter(_requestDeadline);
                try
                {
                    await HandleAsync(client, deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    _log("a client sent no complete request within 5 s; closed it");
                }
                catch (OperationCanceledException)
                {
                    // Stopping.
                }
                catch (SocketException exception)
                {
                    _log($"a client connection failed: {exception.Message}");
                }
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task HandleAsync(Socket client, CancellationToken cancellation)
    {
        var request = await ReadRequestHeadAsync(client, cancellation).ConfigureAwait(false);
        if (request is null)
        {
            await RespondAsync(client, 400, "Bad Request", "text/plain; charset=utf-8", "bad request\n", cancellation).ConfigureAwait(false);
            return;
        }
        var requestLine = request.AsSpan(0, Math.Max(0, request.IndexOf('\r', StringComparison.Ordinal)));
        var parts = requestLine.ToString().Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            await RespondAsync(client, 400, "Bad Request", "text/plain; charset=utf-8", "bad request\n", cancellation).ConfigureAwait(false);
            return;
        }
        var (method, target) = (parts[0], parts[1]);
        var path = target.Split('?')[0];
        if (path is not ("/metrics" or "/"))
        {
            await RespondAsync(client, 404, "Not Found", "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n", cancellation).ConfigureAwait(false);
            return;
        }
        if (method is not ("GET" or "HEAD"))
        {
            await RespondAsync(client, 405, "Method Not Allowed", "text/plain; charset=utf-8", "use GET\n", cancellation).ConfigureAwait(false);
            return;
        }
        if (path == "/")
        {
            await RespondAsync(client, 200, "OK", "text/plain; charset=utf-8", "sklookup metrics: see /metrics\n", cancellation, method == "HEAD").ConfigureAwait(false);
            return;
        }
        var (status, body) = _render();
        await RespondAsync(client, status, status == 200 ? "OK" : "Internal Server Error", PrometheusText.ContentType, body, cancellation, method == "HEAD").ConfigureAwait(false);
    }

    /// <summary>Reads up to the blank line that ends the request head; null if it is too long or the client hung up.</summary>
    private static async Task<string?> ReadRequestHeadAsync(Socket client, CancellationToken cancellation)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellation).ConfigureAwait(false);
            if (read == 0)
                return null;
            length += read;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
                return text;
        }
        return null;
    }

    private static async Task RespondAsync(Socket client, int status, string reason, string contentType, string body, CancellationToken cancellation, bool headOnly = false)
    {
        var bodyBytes = Encoding.UTF8.GetBytes(body);
        var head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {bodyBytes.Length}\r\nConnection: close\r\n\r\n";
        await client.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, cancellation).ConfigureAwait(false);
        if (!headOnly)
            await client.SendAsync(bodyBytes, SocketFlags.None, cancellation).ConfigureAwait(false);
        client.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        _listener.Dispose();
        _slots.Dispose();
    }
}
