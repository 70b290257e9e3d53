using System.Buffers.Binary;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.ControlPlane;

/// <summary>
/// The bindings as the maps hold them (match to destination id), mirrored in memory while the state is
/// locked, with the counts that decide when a destination or a port bit is no longer used.
/// </summary>
internal sealed class BindingState
{
    private readonly Dictionary<BindingMatch, uint> _entries;
    private readonly Dictionary<uint, int> _bindingsPerDestination = [];
    private readonly Dictionary<(TrafficClass Class, ushort Port), int> _bindingsPerPort = [];

    private BindingState(Dictionary<BindingMatch, uint> entries)
    {
        _entries = entries;
        foreach (var (match, id) in entries)
            Count(match, id, +1);
    }

    /// <summary>Reads the bindings from binding maps (both families', or those of the families that have bindings).</summary>
    public static BindingState Read(IEnumerable<BpfMap> bindingMaps)
    {
        var entries = new Dictionary<BindingMatch, uint>();
        foreach (var map in bindingMaps)
        {
            var keySize = map.KeySize;
            // In batches, decoding straight from the kernel's buffers: nothing per entry but the match itself.
            if (!map.TryLookupBatches((keys, values, count) =>
                {
                    for (var i = 0; i < count; i++)
                        entries[BindingKey.Decode(keys.Slice(i * keySize, keySize))] = BinaryPrimitives.ReadUInt32LittleEndian(values[(i * 4)..]);
                }))
                throw new BpfException($"map '{map.Info.Name}' does not support batch lookups", 0, BpfErrorReason.NotSupported);
        }
        return new BindingState(entries);
    }

    /// <summary>Builds the state of a binding set that is about to replace the current one.</summary>
    public static BindingState FromEntries(Dictionary<BindingMatch, uint> entries) => new(entries);

    /// <summary>Match to destination id.</summary>
    public IReadOnlyDictionary<BindingMatch, uint> Entries => _entries;

    /// <summary>The shape of the current bindings.</summary>
    public DispatcherShape Shape() => DispatcherShape.From(Pairs(_entries));

    /// <summary>The shape the bindings would have with <paramref name="match"/> added or (with a null id) removed.</summary>
    public DispatcherShape ShapeWith(BindingMatch match, uint? id)
    {
        // Changes the dictionary for the duration of the call, rather than copying a million entries.
        var had = _entries.TryGetValue(match, out var previous);
        if (id is { } value)
            _entries[match] = value;
        else
            _entries.Remove(match);
        try
        {
            return DispatcherShape.From(Pairs(_entries));
        }
        finally
        {
            if (had)
                _entries[match] = previous;
            else
                _entries.Remove(match);
        }
    }

    /// <summary>True if some binding sends traffic to <paramref name="id"/>.</summary>
    public bool IsUsed(uint id) => _bindingsPerDestination.ContainsKey(id);

    /// <summary>True if some binding of <paramref name="trafficClass"/> is on <paramref name="port"/> exactly.</summary>
    public bool IsPortUsed(TrafficClass trafficClass, ushort port) => _bindingsPerPort.ContainsKey((trafficClass, port));

    /// <summary>Records an added binding.</summary>
    public void Add(BindingMatch match, uint id)
    {
        _entries.Add(match, id);
        Count(match, id, +1);
    }

    /// <summary>Records a removed binding.</summary>
    public void Remove(BindingMatch match)
    {
        if (_entries.Remove(match, out var id))
            Count(match, id, -1);
    }

    /// <summary>The traffic class of a match.</summary>
    public static TrafficClass ClassOf(BindingMatch match) => TrafficClasses.Of(
        match.Family, match.Protocol);

    private void Count(BindingMatch match, uint id, int delta)
    {
        Adjust(_bindingsPerDestination, id, delta);
        if (match.Port != 0)
            Adjust(_bindingsPerPort, (ClassOf(match), match.Port), delta);
    }

    private static void Adjust<TKey>(Dictionary<TKey, int> counts, TKey key, int delta) where TKey : notnull
    {
        var count = counts.GetValueOrDefault(key) + delta;
        if (count > 0)
            counts[key] = count;
        else
            counts.Remove(key);
    }

    private static IEnumerable<(BindingMatch, uint)> Pairs(Dictionary<BindingMatch, uint> entries)
    {
        foreach (var (match, id) in entries)
            yield return (match, id);
    }
}
