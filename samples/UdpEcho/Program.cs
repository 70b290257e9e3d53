// A UDP echo service for everything its label's bindings send it: every address of 192.0.2.0/24 and
// 2001:db8::/32, on every port, say, while it holds two sockets bound to 127.0.0.1:5353 and [::1]:5353.
// Each reply leaves from the address and port the client sent to, so connected clients (dig, nc -u) take it.
//
//   sklookup load
//   sklookup bind echo udp 192.0.2.0/24 any && sklookup bind echo udp 2001:db8::/32 any
//   dotnet run -- --SkLookup:Label=echo
//
// or, with the bindings in the app's configuration: --SkLookup:Labels:echo:Bindings:0:Protocol=udp --SkLookup:Labels:echo:Bindings:0:Prefix=192.0.2.0/24
//
// It also serves /metrics (OpenTelemetry's Prometheus exporter) and /healthz on 127.0.0.1:9100.
using System.Net;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using SkLookup.Hosting;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Host.UseSystemd();

var label = builder.Configuration["SkLookup:Label"] ?? "echo";
var listen = builder.Configuration["SkLookup:Listen"] ?? "127.0.0.1:5353,[::1]:5353";
var management = IPEndPoint.Parse(builder.Configuration["Management:Listen"] ?? "127.0.0.1:9100");

// SkLookup:BpfFs, and the label's own bindings if the configuration has them (SkLookup:Labels:echo:Bindings).
builder.Services.AddSkLookup(builder.Configuration.GetSection("SkLookup"));
foreach (var endPoint in listen.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
    builder.Services.AddSteeredUdpSocket(label, IPEndPoint.Parse(endPoint));
builder.Services.AddHostedService(services => new Echo(label, services));
builder.Services.AddHealthChecks().AddSkLookup();
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(SkLookupMetrics.MeterName).AddPrometheusExporter());
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(management));

var app = builder.Build();
app.MapPrometheusScrapingEndpoint("/metrics");
app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = SkLookupHealthChecksBuilderExtensions.WriteStatusAndDescriptions });
app.Run();

/// <summary>Echoes every datagram of each socket of the label, from where the client sent it.</summary>
internal sealed partial class Echo(string label, IServiceProvider services) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The sk_lookup service stops a host whose start failed (an address in use, say) before it reports
        // started, so work that needs the sockets waits for that.
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetResult()))
            await started.Task;
        if (lifetime.ApplicationStopping.IsCancellationRequested || stoppingToken.IsCancellationRequested)
            return;
        var logger = services.GetRequiredService<ILogger<Echo>>();
        var sockets = services.GetKeyedServices<SteeredUdpSocket>(label).ToList();
        await Task.WhenAll(sockets.Select(socket => Serve(socket, logger, stoppingToken)));
    }

    private static async Task Serve(SteeredUdpSocket socket, ILogger logger, CancellationToken stoppingToken)
    {
        LogServing(logger, socket.LocalEndPoint);
        var buffer = GC.AllocateArray<byte>(65536, pinned: true);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var datagram = await socket.ReceiveAsync(buffer, stoppingToken);
                await socket.SendReplyAsync(buffer.AsMemory(0, datagram.Length), datagram, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (System.Net.Sockets.SocketException exception)
            {
                // One client's trouble (a reply source another socket holds, say) must not stop the service.
                LogReplyFailed(logger, exception.Message);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "echoing what sk_lookup steers to {Socket}")]
    private static partial void LogServing(ILogger logger, IPEndPoint socket);

    [LoggerMessage(2, LogLevel.Warning, "a datagram went unanswered: {Reason}")]
    private static partial void LogReplyFailed(ILogger logger, string reason);
}
