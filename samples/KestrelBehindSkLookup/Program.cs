// A web app that serves whatever the sk_lookup bindings of its label send it: every address of
// 192.0.2.0/24 port 80, say, while Kestrel listens on one socket bound to 127.0.0.1:8080.
//
//   sklookup load && sklookup bind web tcp 192.0.2.0/24 80
//   dotnet run        (registering a socket needs CAP_BPF and CAP_NET_ADMIN, or root)
//
// Under systemd with a socket unit (see systemd/), it serves and registers the activated socket instead.
// /metrics (OpenTelemetry's Prometheus exporter) and /healthz are on 127.0.0.1:9100, not on the steered listener.
using System.Net;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using SkLookup.Bpf;
using SkLookup.Hosting;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Host.UseSystemd();

var label = builder.Configuration["SkLookup:Label"] ?? "web";
var listen = IPEndPoint.Parse(builder.Configuration["SkLookup:Listen"] ?? "127.0.0.1:8080");
var management = IPEndPoint.Parse(builder.Configuration["Management:Listen"] ?? "127.0.0.1:9100");
var activated = Environment.GetEnvironmentVariable(SystemdSockets.ListenPidVariable) == $"{Environment.ProcessId}";

// SkLookup:BpfFs, and the label's own bindings if the configuration has them (SkLookup:Labels:web:Bindings).
builder.Services.AddSkLookup(builder.Configuration.GetSection("SkLookup"), options =>
{
    if (activated)
        options.RegisterSystemdSockets(name => name == label ? label : null); // FileDescriptorName= in the socket unit
});
builder.Services.AddHealthChecks().AddSkLookup();
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(SkLookupMetrics.MeterName).AddPrometheusExporter());
builder.WebHost.ConfigureKestrel(kestrel =>
{
    if (activated)
        kestrel.UseSystemd(); // Kestrel serves the descriptors systemd passed.
    else
        kestrel.ListenSkLookup(label, listen);
    kestrel.Listen(management);
});

var app = builder.Build();
// For a steered connection, context.Connection.LocalIpAddress is the listener's address; the kernel knows the one the client dialled.
app.MapGet("/", (HttpContext context) => $"Hello! You dialled {SteeredAddress.Of(context)}.\n");
app.MapPrometheusScrapingEndpoint("/metrics").RequireHost($"*:{management.Port}");
app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = SkLookupHealthChecksBuilderExtensions.WriteStatusAndDescriptions })
    .RequireHost($"*:{management.Port}");
app.Run();
