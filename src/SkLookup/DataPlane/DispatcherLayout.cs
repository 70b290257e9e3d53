using SkLookup.Bpf;

namespace SkLookup.DataPlane;

/// <summary>
/// The dispatcher's pinned maps: what each holds, and its shape. The control plane pins them in the
/// state directory. The binding maps are the record of every binding; the program reads the others,
/// plus the probe tables and prefilters it owns (<see cref="ProbeTable"/>, <see cref="AddressPrefilter"/>). <see cref="Version"/> changes whenever a map's shape or
/// meaning changes, so that an upgrade knows to migrate.
/// </summary>
internal static class DispatcherLayout
{
    /// <summary>The layout version; an upgrade migrates maps when the pinned one differs.</summary>
    public const uint Version = 1;

    /// <summary>The most destinations (label, family, protocol) a dispatcher holds.</summary>
    public const uint MaxDestinations = 65536;

    /// <summary>
    /// The most bindings per family (1,048,576). The kernel allocates a hash map's bucket array for its
    /// maximum up front, even without preallocated entries, so this bounds the memory of an empty state too.
    /// </summary>
    public const uint MaxBindings = 1 << 20;

    /// <summary>The record of IPv4 bindings: <see cref="BindingKey"/> (8 bytes) to a destination id (u32). The program reads their compiled form.</summary>
    public static readonly MapSpec Bindings4 = new()
    {
        Name = "sk_bind4", Type = MapType.Hash, KeySize = BindingKey.SizeV4, ValueSize = 4,
        MaxEntries = MaxBindings, Flags = MapFlags.NoPrealloc,
    };

    /// <summary>The record of IPv6 bindings: <see cref="BindingKey"/> (20 bytes) to a destination id (u32). The program reads their compiled form.</summary>
    public static readonly MapSpec Bindings6 = new()
    {
        Name = "sk_bind6", Type = MapType.Hash, KeySize = BindingKey.SizeV6, ValueSize = 4,
        MaxEntries = MaxBindings, Flags = MapFlags.NoPrealloc,
    };

    /// <summary>
    /// For each local port, a bit per traffic class (<see cref="TrafficClass"/>) that has a binding on that
    /// very port. Lets a lookup skip every specific-port probe when the port has none.
    /// </summary>
    public static readonly MapSpec Ports = new()
    {
        Name = "sk_ports", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 65536,
    };

    /// <summary>The socket of each destination, by destination id. 8-byte values, so lookups return cookies.</summary>
    public static readonly MapSpec Sockets = new()
    {
        Name = "sk_sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = MaxDestinations,
    };

    /// <summary>Per-CPU counters of each destination, by id: <see cref="DestinationCounters"/>.</summary>
    public static readonly MapSpec Metrics = new()
    {
        Name = "sk_metrics", Type = MapType.PerCpuArray, KeySize = 4, ValueSize = DestinationCounters.Size, MaxEntries = MaxDestinations,
    };

    /// <summary>Per-destination options, by id (<see cref="DestinationFlags"/>); read only when a destination has no socket.</summary>
    public static readonly MapSpec DestinationOptions = new()
    {
        Name = "sk_dest_opts", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = MaxDestinations,
    };

    /// <summary>Every pinned map of this layout: the binding records and the maps the program reads.</summary>
    public static IReadOnlyList<MapSpec> PinnedMaps { get; } = [Bindings4, Bindings6, Ports, Sockets, Metrics, DestinationOptions];
}

/// <summary>Options of a destination, stored in <see cref="DispatcherLayout.DestinationOptions"/>.</summary>
[Flags]
internal enum DestinationFlags : uint
{
    /// <summary>No socket registered: drop the packet, so traffic never leaks to another socket.</summary>
    None = 0,
    /// <summary>No socket registered: let the normal socket lookup go on.</summary>
    FallThrough = 1,
}

/// <summary>
/// The four traffic classes a dispatcher tells apart. Their values are bit positions in
/// <see cref="DispatcherLayout.Ports"/> values.
/// </summary>
internal enum TrafficClass
{
    /// <summary>TCP over IPv4.</summary>
    Tcp4 = 0,
    /// <summary>UDP over IPv4.</summary>
    Udp4 = 1,
    /// <summary>TCP over IPv6.</summary>
    Tcp6 = 2,
    /// <summary>UDP over IPv6.</summary>
    Udp6 = 3,
}

/// <summary>Helpers for <see cref="TrafficClass"/>.</summary>
internal static class TrafficClasses
{
    /// <summary>All four, in a fixed order.</summary>
    public static readonly TrafficClass[] All = [TrafficClass.Tcp4, TrafficClass.Udp4, TrafficClass.Tcp6, TrafficClass.Udp6];

    /// <summary>The class of a family and protocol.</summary>
    public static TrafficClass Of(SkLookup.Family family, SkLookup.Protocol protocol) =>
        (TrafficClass)((family == SkLookup.Family.IPv6 ? 2 : 0) + (protocol == SkLookup.Protocol.Udp ? 1 : 0));

    /// <summary>The class's family.</summary>
    public static SkLookup.Family Family(this TrafficClass trafficClass) => (int)trafficClass >= 2 ? SkLookup.Family.IPv6 : SkLookup.Family.IPv4;

    /// <summary>The class's protocol.</summary>
    public static SkLookup.Protocol Protocol(this TrafficClass trafficClass) => ((int)trafficClass & 1) != 0 ? SkLookup.Protocol.Udp : SkLookup.Protocol.Tcp;

    /// <summary>The class's bit in a <see cref="DispatcherLayout.Ports"/> value.</summary>
    public static uint PortBit(this TrafficClass trafficClass) => 1u << (int)trafficClass;
}
