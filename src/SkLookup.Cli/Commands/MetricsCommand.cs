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
            Required = true,
        };
        var command = new Command("metrics", "Serve the dispatcher's counters at /metrics in the Prometheus text format until stopped") { listen };
        command.HelpFooter("""
            The server listens in the namespace sklookup runs in; --netns chooses whose counters it serves.
            Each scrape reads the pinned state afresh, so it reflects every command's changes.
            Metrics: sklookup_dispatcher_loaded, sklookup_bindings{label,family,protocol},
                     sklookup_lookups_total / sklookup_misses_total / sklookup_errors_total{label,family,protocol},
                     sklookup_socket_registered{label,family,protocol}
            Example: sklookup metrics --listen 127.0.0.1:9090    (then: curl http://127.0.0.1:9090/metrics)
            """);
        return command.RunsAsync("metrics", async context =>
        {
            var text = context.Get(listen)!;
            if (!AddressText.TryParseEndPoint(text, out var endPoint, out var reason))
                throw new CliException(ExitCode.Usage, $"--listen '{TextEscape.Escape(text)}' is not ADDR:PORT ({reason}); pass e.g. 127.0.0.1:9090 or [::1]:9090");
            var bpffs = context.RequireBpfFs();
            using var netns = context.OpenNamespace();
            // One scrape: a reader's view of the state, or "not loaded" (a normal answer while it is unloaded).
            (int, string) Render()
            {
                try
                {
                    using var dispatcher = Dispatcher.Open(netns, bpffs, write: false, context.LockTimeout);
                    return (200, PrometheusText.Render(dispatcher.Bindings(), dispatcher.Destinations()));
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
            using var server = new MetricsServer(endPoint, Render, line => context.Error.WriteLine($"sklookup: metrics: {line}"));
            var url = $"http://{server.LocalEndPoint}/metrics";
            context.Write(new JsonObject { ["netns"] = netns.Inode, ["listen"] = server.LocalEndPoint.ToString(), ["url"] = url },
                output => output.WriteLine($"serving the metrics of netns {netns.Inode} at {url} (Ctrl+C to stop)"));
            await server.ServeAsync(context.Cancellation).ConfigureAwait(false);
            return ExitCode.Ok;
        });
    }
}
