using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SkLookup.Bpf;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>The SkLookup meter and the health check, read after real traffic in a private namespace.</summary>
public sealed class MetricsAndHealthTests
{
    [Fact]
    public async Task InstrumentsReportTheDispatchersCountersAfterTraffic()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        scenario.Bind("web", "tcp", "2001:db8::/32", "80");
        scenario.Bind("dns", "udp", "192.0.2.0/24", "53");
        using var web = scenario.NetNs.Listen(IPEndPoint.Parse("[::]:8080"), dualStack: true);
        using var host = scenario.BuildHost(options => options.Register("web", web, dualStack: true));
        await host.StartAsync();

        for (var i = 0; i < 3; i++)
            Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse($"192.0.2.{i + 1}:80"), web));
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("[2001:db8::1]:80"), web));
        for (var i = 0; i < 2; i++)
            Assert.Equal(-1, Traffic.SendAndFindReceiver(scenario.NetNs, IPEndPoint.Parse("192.0.2.9:53"))); // 'dns' has no socket: dropped.

        var measured = Collect(host);

        Assert.Equal(3, measured[(SkLookupMetrics.Lookups, "web ipv4 tcp")]);
        Assert.Equal(1, measured[(SkLookupMetrics.Lookups, "web ipv6 tcp")]);
        Assert.Equal(0, measured[(SkLookupMetrics.Misses, "web ipv4 tcp")]);
        Assert.Equal(2, measured[(SkLookupMetrics.Lookups, "dns ipv4 udp")]);
        Assert.Equal(2, measured[(SkLookupMetrics.Misses, "dns ipv4 udp")]);
        Assert.Equal(0, measured[(SkLookupMetrics.Errors, "dns ipv4 udp")]);
        Assert.Equal(1, measured[(SkLookupMetrics.Bindings, "web ipv4 tcp")]);
        Assert.Equal(1, measured[(SkLookupMetrics.Bindings, "web ipv6 tcp")]);
        Assert.Equal(1, measured[(SkLookupMetrics.Bindings, "dns ipv4 udp")]);
        Assert.Equal(1, measured[(SkLookupMetrics.SocketRegistered, "web ipv4 tcp")]);
        Assert.Equal(0, measured[(SkLookupMetrics.SocketRegistered, "dns ipv4 udp")]);
        Assert.Equal(1, measured[(SkLookupMetrics.DispatcherLoaded, "")]);

        // The same numbers as the dispatcher's own counters, which 'sklookup metrics' serves.
        using (var dispatcher = scenario.Open())
        {
            foreach (var destination in dispatcher.Destinations())
            {
                var key = $"{destination.Label} {destination.Family.Name()} {destination.Protocol.Name()}";
                Assert.Equal((long)destination.Counters.Lookups, measured[(SkLookupMetrics.Lookups, key)]);
                Assert.Equal((long)destination.Counters.Misses, measured[(SkLookupMetrics.Misses, key)]);
            }
        }

        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        var unloaded = Collect(host);
        Assert.Equal(0, unloaded[(SkLookupMetrics.DispatcherLoaded, "")]);
        Assert.Single(unloaded);
        await host.StopAsync();
    }

    [Fact]
    public async Task HealthIsHealthyThenDegradedWithoutASocketThenUnhealthyWhenUnloaded()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        var web = scenario.NetNs.Listen(IPEndPoint.Parse("127.0.0.1:8080"));
        using var host = scenario.BuildHost(options => options.Register("web", web), services => services.AddHealthChecks().AddSkLookup());
        await host.StartAsync();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var healthy = (await health.CheckHealthAsync()).Entries["sklookup"];
        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Contains("serving 'web' (tcp ipv4)", healthy.Description, StringComparison.Ordinal);

        // The socket closes, and leaves the map: the label's traffic is dropped now.
        web.Dispose();
        var degraded = (await health.CheckHealthAsync()).Entries["sklookup"];
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains("'web' has tcp ipv4 bindings but no socket for them", degraded.Description, StringComparison.Ordinal);

        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        var unhealthy = (await health.CheckHealthAsync()).Entries["sklookup"];
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.Contains("run 'sklookup load'", unhealthy.Description, StringComparison.Ordinal);
        await host.StopAsync();
    }

    /// <summary>
    /// As a newer version would leave the dispatcher: a layout this version cannot read at all, or the same
    /// layout with a program from another generator, which this version can read but should upgrade.
    /// </summary>
    [Theory]
    [InlineData("layout")]
    [InlineData("generator")]
    public async Task HealthIsDegradedWhenAnotherVersionLoadedTheDispatcher(string change)
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        using var web = scenario.NetNs.Listen(IPEndPoint.Parse("127.0.0.1:8080"));
        using var host = scenario.BuildHost(options => options.Register("web", web), services => services.AddHealthChecks().AddSkLookup());
        await host.StartAsync();

        scenario.RewriteVersionRecord(record =>
        {
            if (change == "layout")
                BitConverter.TryWriteBytes(record, 999u);
            else
                System.Text.Encoding.UTF8.GetBytes("sk_dispatcher/999\0").CopyTo(record, 48);
        });

        var entry = (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["sklookup"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("loaded by another version", entry.Description, StringComparison.Ordinal);
        Assert.Contains("sklookup upgrade", entry.Description, StringComparison.Ordinal);
        if (change == "generator")
            Assert.Contains("sk_dispatcher/999", entry.Description, StringComparison.Ordinal);
        await host.StopAsync();
    }

    /// <summary>Observes the host's SkLookup instruments once, keyed by instrument and "label family protocol".</summary>
    private static Dictionary<(string Instrument, string Destination), long> Collect(Microsoft.Extensions.Hosting.IHost host)
    {
        var metrics = host.Services.GetRequiredService<SkLookupMetrics>();
        metrics.SnapshotMaxAge = TimeSpan.Zero;
        var measured = new Dictionary<(string, string), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this host's meter: other tests' hosts have SkLookup meters of their own factories.
            if (ReferenceEquals(instrument.Meter, metrics.Meter))
                l.EnableMeasurementEvents(instrument);
        };
        void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var parts = new string?[3];
            foreach (var tag in tags)
            {
                var index = tag.Key switch { SkLookupMetrics.LabelTag => 0, SkLookupMetrics.FamilyTag => 1, SkLookupMetrics.ProtocolTag => 2, _ => -1 };
                Assert.True(index >= 0, $"unexpected tag {tag.Key}");
                parts[index] = (string?)tag.Value;
            }
            lock (measured)
                measured[(instrument.Name, tags.Length == 0 ? "" : string.Join(' ', parts))] = value;
        }
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return measured;
    }
}
