using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using SkLookup.Cli.Metrics;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup metrics --listen ADDR:PORT</c>: the counters over HTTP for Prometheus.</summary>
internal static class MetricsCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var listen = new Option<string>("--listen")
        {
            Description = "Where to serve /metrics, e.g. 127.0.0.1:9090 or [::1]:9090 (port 0 picks a free one)",
            HelpName = "ADDR:PORT",
        };
        // tubectl's form: metrics ADDR PORT.
        var address = new Argument<string?>("ADDR") { Description = "The address to listen on (tubectl's form; or use --listen)", Arity = ArgumentArity.ZeroOrOne };
        var port = new Argument<string?>("PORT") { Description = "The port to listen on", Arity = ArgumentArity.ZeroOrOne };
        var requestTimeout = new Option<double>("--request-timeout")
        {
            Description = $"Seconds a client may take to send its request before it is closed (default {MetricsServer.DefaultRequestDeadline.TotalSeconds:0})",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => MetricsServer.DefaultRequestDeadline.TotalSeconds,
        };
        var command = new Command("metrics", "Serve the dispatcher's counters at /metrics in the Prometheus text format until stopped") { address, port, listen, requestTimeout };
        command.HelpFooter("""
            The server listens in the namespace sklookup runs in; --netns chooses whose counters it serves.
            Each scrape reads the pinned state afresh, so it reflects every command's changes.
            Metrics: sklookup_dispatcher_loaded, sklookup_bindings{label,family,protocol},
                     sklookup_lookups_total / sklookup_misses_total / sklookup_errors_total{label,family,protocol},
                     sklookup_socket_registered{label,family,protocol}
            Examples: sklookup metrics --listen 127.0.0.1:9090    (then: curl http://127.0.0.1:9090/metrics)
                      sklookup metrics 127.0.0.1 9090             (tubectl's form)
            """);
        return command.RunsAsync("metrics", async context =>
        {
            var endPoint = ListenEndPoint(context.Get(listen), context.Get(address), context.Get(port));
            var requestDeadline = context.Get(requestTimeout) is var seconds && seconds is > 0 and <= 3600
                ? TimeSpan.FromSeconds(seconds)
                : throw new CliException(ExitCode.Usage, $"--request-timeout {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} is out of range: give more than 0 and at most 3600 seconds");
            var bpffs = context.RequireBpfFs();
            using var netns = context.OpenNamespace();
            // One scrape: a reader's view of the state, or "not loaded" (a normal answer while it is unloaded).
            (int, string) Render()
            {
                try
                {
                    using var dispatcher = Dispatcher.Open(netns, bpffs, write: false, context.LockTimeout);
                    // Counted from the maps' raw values: a scrape at a million bindings decodes none of them.
                    return (200, PrometheusText.Render(dispatcher.CountBindings(), dispatcher.Destinations()));
                }
                catch (SteeringException exception) when (exception.Error == SteeringError.NotLoaded)
                {
                    return (200, PrometheusText.RenderNotLoaded());
                }
                catch (Exception exception)
                {
                    var (_, message) = ErrorReport.Classify(exception);
                    context.Error.WriteLine($"sklookup: metrics: scrape failed: {message}");
                    return (500, $"# scrape failed: {message.ReplaceLineEndings(" ")}\n");
                }
            }
            // A process that may not read the state is refused now, with the one line that says why, rather than
            // serving an error on every scrape.
            try
            {
                Dispatcher.Open(netns, bpffs, write: false, context.LockTimeout).Dispose();
            }
            catch (SteeringException exception) when (exception.Error == SteeringError.NotLoaded)
            {
            }
            using var server = new MetricsServer(endPoint, Render, line => context.Error.WriteLine($"sklookup: metrics: {line}"), requestDeadline);
            var url = $"http://{server.LocalEndPoint}/metrics";
            context.Write(new JsonObject { ["netns"] = netns.Inode, ["listen"] = server.LocalEndPoint.ToString(), ["url"] = url },
                output => output.WriteLine($"serving the metrics of netns {netns.Inode} at {url} (Ctrl+C to stop)"));
            await server.ServeAsync(context.Cancellation).ConfigureAwait(false);
            return ExitCode.Ok;
        });
    }

    /// <summary>Where to listen: <c>--listen ADDR:PORT</c>, or tubectl's <c>ADDR PORT</c>; exactly one of the two, in canonical form.</summary>
    private static IPEndPoint ListenEndPoint(string? listen, string? address, string? port)
    {
        if (listen is not null)
        {
            if (address is not null)
                throw new CliException(ExitCode.Usage, $"pass either --listen ADDR:PORT or ADDR PORT, not both (got --listen {TextEscape.Escape(listen)} and {TextEscape.Escape(address)})");
            if (!AddressText.TryParseEndPoint(listen, out var endPoint, out var reason))
                throw new CliException(ExitCode.Usage, $"--listen '{TextEscape.Escape(listen)}' is not ADDR:PORT ({reason}); pass e.g. 127.0.0.1:9090 or [::1]:9090");
            return endPoint;
        }
        if (address is null)
            throw new CliException(ExitCode.Usage, "say where to serve the metrics: --listen ADDR:PORT, or ADDR PORT (e.g. 127.0.0.1 9090)");
        if (port is null)
            throw new CliException(ExitCode.Usage, $"a port must follow the address {TextEscape.Escape(address)}, e.g. 'sklookup metrics {TextEscape.Escape(address)} 9090'");
        if (!AddressText.TryParseAddress(address, out var ip, out var why))
            throw new CliException(ExitCode.Usage, $"address '{TextEscape.Escape(address)}' is not valid: {why}; pass e.g. 127.0.0.1 or ::1");
        if (!ushort.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) || (port.Length > 1 && port[0] == '0'))
            throw new CliException(ExitCode.Usage, $"port '{TextEscape.Escape(port)}' is not valid: use 0 to 65535 in decimal without leading zeros (0 picks a free one)");
        return new IPEndPoint(ip, number);
    }
}
