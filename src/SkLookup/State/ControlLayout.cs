using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.State;

/// <summary>
/// The maps only the control plane reads: which label each destination id belongs to, label-wide
/// options, and the meta record that says which version built the state. The program never sees them.
/// </summary>
internal static class ControlLayout
{
    /// <summary>Destinations: <see cref="LabelKey"/> (family, protocol, label) to destination id (u32).</summary>
    public static readonly MapSpec Labels = new()
    {
        Name = "sk_labels", Type = MapType.Hash, KeySize = LabelKey.Size, ValueSize = 4,
        MaxEntries = DispatcherLayout.MaxDestinations, Flags = MapFlags.NoPrealloc,
    };

    /// <summary>
    /// Label-wide options: <see cref="LabelKey"/> with family and protocol 0, to <see cref="DestinationFlags"/>
    /// (u32). Remembered so that a destination created later for the label inherits them.
    /// </summary>
    public static readonly MapSpec LabelOptions = new()
    {
        Name = "sk_label_opts", Type = MapType.Hash, KeySize = LabelKey.Size, ValueSize = 4,
        MaxEntries = DispatcherLayout.MaxDestinations, Flags = MapFlags.NoPrealloc,
    };

    /// <summary>One <see cref="DispatcherMeta"/> record at key 0.</summary>
    public static readonly MapSpec Meta = new()
    {
        Name = "sk_meta", Type = MapType.Array, KeySize = 4, ValueSize = DispatcherMeta.Size, MaxEntries = 1,
    };

    /// <summary>
    /// The binding summary (<see cref="ControlPlane.BindingSummary"/>): counts of bindings per destination, per class and
    /// port, per class and probe, and per class, so that one bind or unbind decides what it changes from a few entries
    /// instead of reading every binding. Optional: a state built before it existed has none, and a writer then builds it
    /// (once, from the binding maps) before its first change; <see cref="DispatcherMeta.SummaryValid"/> says whether it
    /// may be trusted.
    /// </summary>
    public static readonly MapSpec Summary = new()
    {
        Name = "sk_summary", Type = MapType.Hash, KeySize = 8, ValueSize = 4,
        MaxEntries = 1 << 19, Flags = MapFlags.NoPrealloc,
    };

    /// <summary>Maps a state may lack without being damaged (their absence is handled where they are used).</summary>
    public static IReadOnlyList<MapSpec> OptionalMaps { get; } = [Summary];

    /// <summary>The control maps.</summary>
    public static IReadOnlyList<MapSpec> Maps { get; } = [Labels, LabelOptions, Meta];

    /// <summary>Every map in a state directory: the program's, then the control plane's.</summary>
    public static IReadOnlyList<MapSpec> AllMaps { get; } = [.. DispatcherLayout.PinnedMaps, .. Maps];
}
