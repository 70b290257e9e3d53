using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace SkLookup.Hosting;

/// <summary>
/// The dispatcher's counters as <see cref="System.Diagnostics.Metrics"/> instruments of the meter
/// <see cref="MeterName"/>, created through <see cref="IMeterFactory"/>. They are observable: each
/// collection (an OpenTelemetry export, a <c>dotnet-counters</c> poll, a <see cref="MeterListener"/>) reads
/// the per-CPU counters from the pinned maps of the app's namespace, as <c>sklookup metrics</c> does, so
/// they count every packet steered in the namespace, whichever process serves it. OpenTelemetry's
/// Prometheus exporter names them exactly as <c>sklookup metrics</c> does (see the README's table).
/// </summary>
/// <remarks>
/// <see cref="SkLookupServiceCollectionExtensions.AddSkLookup(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{SkLookupOptions})"/> registers it and creates it at start.
/// One collection reads the maps once for all instruments (a snapshot lives 250 ms). A collection while
/// the dispatcher is not loaded reports <see cref="DispatcherLoaded"/> 0 and nothing else.
/// </remarks>
public sealed class SkLookupMetrics
{
    /// <summary>The meter's name: add it to OpenTelemetry with <c>metrics.AddMeter(SkLookupMetrics.MeterName)</c>.</summary>
    public const string MeterName = "SkLookup";

    /// <summary>Counter (<c>{lookup}</c>): lookups that matched a binding of the destination. Prometheus: <c>sklookup_lookups_total</c>.</summary>
    public const string Lookups = "sklookup.lookups";

    /// <summary>Counter (<c>{lookup}</c>): of those, lookups that found no socket registered (dropped, or passed on with fall-through). Prometheus: <c>sklookup_misses_total</c>.</summary>
    public const string Misses = "sklookup.misses";

    /// <summary>Counter (<c>{lookup}</c>): of those, lookups whose socket the kernel refused (bpf_sk_assign failed). Prometheus: <c>sklookup_errors_total</c>.</summary>
    public const string Errors = "sklookup.errors";

    /// <summary>Up-down counter (<c>{binding}</c>): bindings of the destination. Prometheus: <c>sklookup_bindings</c>.</summary>
    public const string Bindings = "sklookup.bindings";

    /// <summary>Gauge: 1 if the destination has a socket registered, else 0. Prometheus: <c>sklookup_socket_registered</c>.</summary>
    public const string SocketRegistered = "sklookup.socket.registered";

    /// <summary>Gauge, no tags: 1 if the dispatcher is loaded in the namespace, else 0. Prometheus: <c>sklookup_dispatcher_loaded</c>.</summary>
    public const string DispatcherLoaded = "sklookup.dispatcher.loaded";

    /// <summary>The tag names of the per-destination instruments.</summary>
    public const string LabelTag = "label", FamilyTag = "family", ProtocolTag = "protocol";

    private readonly SteeringSnapshots _snapshots;

    /// <summary>Creates the meter and its instruments.</summary>
    internal SkLookupMetrics(IMeterFactory meterFactory, IOptions<SkLookupOptions> options)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _snapshots = new SteeringSnapshots(options);
        Meter = meterFactory.Create(MeterName);
        Meter.CreateObservableCounter(Lookups, () => PerDestination(static d => (long)d.Counters.Lookups), "{lookup}",
            "Lookups that matched a binding of the destination.");
        Meter.CreateObservableCounter(Misses, () => PerDestination(static d => (long)d.Counters.Misses), "{lookup}",
            "Lookups of the destination that found no socket registered (dropped, or passed on with fall-through).");
        Meter.CreateObservableCounter(Errors, () => PerDestination(static d => (long)d.Counters.Errors), "{lookup}",
            "Lookups of the destination whose socket the kernel refused (bpf_sk_assign failed).");
        Meter.CreateObservableUpDownCounter(Bindings, BindingCounts, "{binding}", "Bindings of the destination.");
        Meter.CreateObservableGauge(SocketRegistered, () => PerDestination(static d => d.SocketCookie is null ? 0 : 1), null,
            "1 if the destination has a socket registered.");
        Meter.CreateObservableGauge(DispatcherLoaded, () => new Measurement<int>(_snapshots.Current().Loaded ? 1 : 0), null,
            "1 if the dispatcher is loaded in the namespace.");
    }

    /// <summary>The meter; the factory that created it disposes it with the container.</summary>
    public Meter Meter { get; }

    /// <summary>How old a snapshot of the maps may be and still serve an observation (tests set it to 0).</summary>
    internal TimeSpan SnapshotMaxAge
    {
        get => _snapshots.MaxAge;
        set => _snapshots.MaxAge = value;
    }

    private List<Measurement<long>> PerDestination(Func<DestinationStatus, long> value)
    {
        var destinations = _snapshots.Current().Destinations;
        var measurements = new List<Measurement<long>>(destinations.Count);
        foreach (var destination in destinations)
            measurements.Add(new Measurement<long>(value(destination), Tags(destination.Label, destination.Family, destination.Protocol)));
        return measurements;
    }

    private List<Measurement<long>> BindingCounts()
    {
        var counts = new Dictionary<(string Label, Family Family, Protocol Protocol), long>();
        foreach (var binding in _snapshots.Current().Bindings)
        {
            var key = (binding.Label, binding.Family, binding.Protocol);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        var measurements = new List<Measurement<long>>(counts.Count);
        foreach (var ((label, family, protocol), count) in counts)
            measurements.Add(new Measurement<long>(count, Tags(label, family, protocol)));
        return measurements;
    }

    private static KeyValuePair<string, object?>[] Tags(string label, Family family, Protocol protocol) =>
    [
        new(LabelTag, label),
        new(FamilyTag, family.Name()),
        new(ProtocolTag, protocol.Name()),
    ];
}
