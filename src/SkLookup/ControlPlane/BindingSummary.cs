using System.Buffers.Binary;
using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.ControlPlane;

/// <summary>
/// What a single bind or unbind needs to decide what it changes, kept in the pinned <see cref="State.ControlLayout.Summary"/>
/// map and updated in the same marked write as the binding maps: the number of bindings per destination (is it still
/// used?), per traffic class and port (is the port's bit still needed?), per traffic class and probe (prefix length,
/// specific or any port: is the probe still there?) and per traffic class (inline or hashed, how full the family's
/// probe table is). One change reads and writes a handful of entries, whatever the number of bindings.
/// </summary>
/// <remarks>
/// <para>Keys are 8 bytes, little-endian u64: the <see cref="Kind"/> in the low byte, the class in the next, then the
/// port (u16) or the prefix length and port kind, and for a destination its id in the high half. Values are u32 counts; a
/// count of zero is no entry. Besides the counts, a bitmap of the destination ids in use (<see cref="Kind.UsedIds"/>, 32 ids
/// per entry) lets a new destination take the lowest free id without reading every label.</para>
/// <para>Crash safety: the summary is only changed inside a marked write (<see cref="State.StateTransaction.WriteInPlace"/>).
/// A write that dies leaves the mark, and the recovery rebuilds the binding maps, the summary and the program from the
/// binding maps, so the summary is trusted only when no write is in progress and the meta record says it is valid.</para>
/// <para><see cref="KeepsProgram"/> must say "same program" exactly when <see cref="DispatcherShape.Fingerprint"/> would
/// not change: a hashed class (above <see cref="DispatcherShape.InlineLimit"/> bindings before and after) whose probe
/// stays present, in a family whose probe table keeps its minimum size. The tests compare the two on random sets.</para>
/// </remarks>
internal sealed class BindingSummary
{
    private enum Kind : byte
    {
        Destination = 1,
        Port = 2,
        Probe = 3,
        Class = 4,
        UsedIds = 5,
        Format = 6,
        FreeHint = 7,
    }

    /// <summary>The value of the <see cref="Kind.Format"/> entry: a summary without it, or with another, is rebuilt rather than trusted.</summary>
    private const uint FormatVersion = 1;

    /// <summary>Destination ids per word of the used-id bitmap (<see cref="Kind.UsedIds"/>).</summary>
    private const int IdsPerWord = 32;

    private readonly BpfMap? _map;
    private readonly Dictionary<ulong, uint> _cache;
    private readonly byte[] _key = new byte[8];
    private readonly byte[] _value = new byte[4];

    private BindingSummary(BpfMap? map, Dictionary<ulong, uint>? known)
    {
        _map = map;
        _cache = known ?? [];
        Complete = known is not null;
    }

    /// <summary>True when every count is in memory (a summary just built), so a missing one is zero without asking the map.</summary>
    private bool Complete { get; }

    /// <summary>The summary held in <paramref name="map"/>, read entry by entry as it is asked; null if it is of another format.</summary>
    public static BindingSummary? Open(BpfMap map)
    {
        var summary = new BindingSummary(map, null);
        return summary.Get((byte)Kind.Format) == FormatVersion ? summary : null;
    }

    /// <summary>A summary of <paramref name="counts"/> in memory only, for the decisions (<see cref="KeepsProgram"/>); it cannot record changes.</summary>
    public static BindingSummary FromCounts(Dictionary<ulong, uint> counts) => new(null, new(counts));

    /// <summary>
    /// A new summary map for <paramref name="entries"/> and the destination ids in use (<paramref name="usedIds"/>), filled
    /// with batch updates; the caller owns the map.
    /// </summary>
    public static (BpfMap Map, BindingSummary Summary) Create(IReadOnlyDictionary<BindingMatch, uint> entries, IEnumerable<uint> usedIds)
    {
        var map = BpfMap.Create(State.ControlLayout.Summary);
        try
        {
            var counts = Count(entries);
            AddUsedIds(counts, usedIds);
            Fill(map, counts);
            return (map, new BindingSummary(map, counts));
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Replaces the contents of <paramref name="map"/> with the counts of <paramref name="entries"/> (for a summary rebuilt in place).</summary>
    public static BindingSummary Rewrite(BpfMap map, IReadOnlyDictionary<BindingMatch, uint> entries, IEnumerable<uint> usedIds)
    {
        foreach (var (key, _) in map.LookupAll())
            map.Delete(key);
        var counts = Count(entries);
        AddUsedIds(counts, usedIds);
        Fill(map, counts);
        return new BindingSummary(map, counts);
    }

    /// <summary>The counts of <paramref name="entries"/>, by key.</summary>
    public static Dictionary<ulong, uint> Count(IReadOnlyDictionary<BindingMatch, uint> entries)
    {
        var counts = new Dictionary<ulong, uint> { [(byte)Kind.Format] = FormatVersion };
        Span<ulong> keys = stackalloc ulong[4];
        foreach (var (match, id) in entries)
        {
            var count = KeysOf(match, id, keys);
            for (var i = 0; i < count; i++)
                counts[keys[i]] = counts.GetValueOrDefault(keys[i]) + 1;
        }
        return counts;
    }

    /// <summary>The used-id bitmap words of <paramref name="usedIds"/>, added to <paramref name="counts"/>.</summary>
    public static void AddUsedIds(Dictionary<ulong, uint> counts, IEnumerable<uint> usedIds)
    {
        foreach (var id in usedIds)
        {
            var key = UsedIdsKey(id / IdsPerWord);
            counts[key] = counts.GetValueOrDefault(key) | 1u << (int)(id % IdsPerWord);
        }
    }

    /// <summary>The lowest destination id not in use, from the used-id bitmap (one lookup per 32 ids in use below it), or null if all are.</summary>
    public uint? FirstFreeId()
    {
        // Words below the hint are full (it is lowered when an id below it is freed), so the search starts there.
        var hint = Get((byte)Kind.FreeHint);
        for (var word = hint; word < DispatcherLayout.MaxDestinations / IdsPerWord; word++)
        {
            var bits = Get(UsedIdsKey(word));
            if (bits == uint.MaxValue)
                continue;
            if (word != hint)
                Set((byte)Kind.FreeHint, word);
            return word * IdsPerWord + (uint)System.Numerics.BitOperations.TrailingZeroCount(~bits);
        }
        return null;
    }

    /// <summary>Records that destination <paramref name="id"/> is made (<paramref name="used"/>) or removed.</summary>
    public void MarkId(uint id, bool used)
    {
        var key = UsedIdsKey(id / IdsPerWord);
        var bit = 1u << (int)(id % IdsPerWord);
        var bits = Get(key);
        var updated = used ? bits | bit : bits & ~bit;
        if (updated != bits)
            Set(key, updated);
        if (!used && id / IdsPerWord < Get((byte)Kind.FreeHint))
            Set((byte)Kind.FreeHint, id / IdsPerWord);
    }

    /// <summary>True if some binding sends traffic to <paramref name="id"/>.</summary>
    public bool IsUsed(uint id) => Get(DestinationKey(id)) > 0;

    /// <summary>The number of bindings that send traffic to <paramref name="id"/>.</summary>
    public uint BindingsOf(uint id) => Get(DestinationKey(id));

    /// <summary>True if some binding of <paramref name="trafficClass"/> is on <paramref name="port"/> exactly.</summary>
    public bool IsPortUsed(TrafficClass trafficClass, ushort port) => Get(PortKey(trafficClass, port)) > 0;

    /// <summary>The bindings of <paramref name="trafficClass"/>.</summary>
    public uint CountOf(TrafficClass trafficClass) => Get(ClassKey(trafficClass));

    /// <summary>The bindings of <paramref name="family"/>.</summary>
    public long CountOf(Family family)
    {
        long count = 0;
        foreach (var trafficClass in TrafficClasses.All)
            if (trafficClass.Family() == family)
                count += CountOf(trafficClass);
        return count;
    }

    /// <summary>
    /// True if adding (<paramref name="delta"/> +1) or removing (-1) a binding of <paramref name="match"/> leaves the
    /// program's code as it is, so that the probe table can take the change in place: the class is hashed before and
    /// after, and its probe stays. <paramref name="familyKeys"/> is the number of keys the family's probe table holds
    /// after the change, for the caller's check that the table has room (<see cref="State.StateTransaction.TryUpdateTables"/>).
    /// </summary>
    /// <remarks>
    /// A fresh build sizes the table to at most half full (<see cref="ProbeTable.MinimumBits"/>, part of the fingerprint);
    /// a change in place does not swap the program when the count crosses that size, but only when the table passes
    /// three quarters full (or a key finds no free slot): otherwise one bind at exactly 2^19 keys of a family would
    /// rebuild a table of half a million keys. The meta record's fingerprint then names the size the table was built
    /// with, and the next program swap sizes it afresh.
    /// </remarks>
    public bool KeepsProgram(BindingMatch match, int delta, out long familyKeys)
    {
        var trafficClass = BindingState.ClassOf(match);
        var before = (long)CountOf(trafficClass);
        var after = before + delta;
        familyKeys = 0;
        // A class of decision trees has its bindings in the code, and a class that crosses the limit changes form.
        if (before <= DispatcherShape.InlineLimit || after <= DispatcherShape.InlineLimit)
            return false;
        var probe = Get(ProbeKey(trafficClass, match.Prefix.PrefixLength, match.Port != 0));
        if (delta > 0 ? probe == 0 : probe <= 1)
            return false; // A probe appears or goes.
        if (IsSearched(trafficClass))
            return false; // Its markers carry best matching prefixes of other lengths: the program and its tables are built anew.
        foreach (var other in TrafficClasses.All)
            if (other.Family() == match.Family && CountOf(other) is var count && count > DispatcherShape.InlineLimit)
                familyKeys += count;
        familyKeys += delta;
        return true;
    }

    /// <summary>True if moving <paramref name="match"/> to another destination leaves the program's code as it is (a hashed class: ids are in its table, not its code).</summary>
    public bool KeepsProgramOnMove(BindingMatch match) =>
        CountOf(BindingState.ClassOf(match)) > DispatcherShape.InlineLimit && !IsSearched(BindingState.ClassOf(match));

    /// <summary>
    /// True if the hashed class <paramref name="trafficClass"/> has the probes that make it a <see cref="DataPlane.LengthSearch"/>
    /// (as <see cref="DispatcherShape"/> decides it): at most 2 × 129 lookups, stopping at the threshold.
    /// </summary>
    private bool IsSearched(TrafficClass trafficClass)
    {
        var probes = 0;
        var longest = trafficClass.Family() == Family.IPv4 ? 32 : 128;
        for (var length = 0; length <= longest; length++)
            foreach (var specific in (bool[])[true, false])
                if (Get(ProbeKey(trafficClass, length, specific)) > 0 && ++probes >= DataPlane.LengthSearch.Threshold)
                    return true;
        return false;
    }

    /// <summary>Counts a binding added (+1) or removed (-1) in the map.</summary>
    public void Record(BindingMatch match, uint id, int delta)
    {
        Span<ulong> keys = stackalloc ulong[4];
        var count = KeysOf(match, id, keys);
        for (var i = 0; i < count; i++)
            Adjust(keys[i], delta);
    }

    /// <summary>Counts a binding moved from one destination to another (its class, port and probe counts stay).</summary>
    public void RecordMove(uint fromId, uint toId)
    {
        Adjust(DestinationKey(fromId), -1);
        Adjust(DestinationKey(toId), +1);
    }

    /// <summary>The number of bindings of every destination that has some, read from the map in batches.</summary>
    public Dictionary<uint, int> DestinationCounts()
    {
        var counts = new Dictionary<uint, int>();
        if (_map is null)
        {
            foreach (var (key, count) in _cache)
                if ((byte)key == (byte)Kind.Destination && count > 0)
                    counts[(uint)(key >> 32)] = (int)count;
            return counts;
        }
        foreach (var (key, value) in ReadAll(_map))
            if ((byte)key == (byte)Kind.Destination && value > 0)
                counts[(uint)(key >> 32)] = (int)value;
        return counts;
    }

    /// <summary>Every count, by key, read from the map (for tests that compare it with a fresh count).</summary>
    public static Dictionary<ulong, uint> ReadAll(BpfMap map)
    {
        var all = new Dictionary<ulong, uint>();
        foreach (var (key, value) in map.LookupAll())
            all[BinaryPrimitives.ReadUInt64LittleEndian(key)] = BinaryPrimitives.ReadUInt32LittleEndian(value);
        return all;
    }

    private uint Get(ulong key)
    {
        if (_cache.TryGetValue(key, out var count))
            return count;
        if (Complete)
            return 0;
        BinaryPrimitives.WriteUInt64LittleEndian(_key, key);
        count = _map!.TryLookup(_key, _value) ? BinaryPrimitives.ReadUInt32LittleEndian(_value) : 0;
        _cache[key] = count;
        return count;
    }

    private void Adjust(ulong key, int delta) => Set(key, (uint)Math.Max(0, Get(key) + delta));

    private void Set(ulong key, uint count)
    {
        var map = _map ?? throw new InvalidOperationException("a summary in memory only records nothing");
        BinaryPrimitives.WriteUInt64LittleEndian(_key, key);
        if (count == 0)
            map.Delete(_key);
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_value, count);
            map.Update(_key, _value);
        }
        _cache[key] = count;
    }

    private static int KeysOf(BindingMatch match, uint id, Span<ulong> keys)
    {
        var trafficClass = BindingState.ClassOf(match);
        keys[0] = DestinationKey(id);
        keys[1] = ClassKey(trafficClass);
        keys[2] = ProbeKey(trafficClass, match.Prefix.PrefixLength, match.Port != 0);
        if (match.Port == 0)
            return 3;
        keys[3] = PortKey(trafficClass, match.Port);
        return 4;
    }

    private static ulong DestinationKey(uint id) => (byte)Kind.Destination | (ulong)id << 32;

    private static ulong PortKey(TrafficClass trafficClass, ushort port) => (byte)Kind.Port | (ulong)(byte)trafficClass << 8 | (ulong)port << 16;

    private static ulong ProbeKey(TrafficClass trafficClass, int prefixLength, bool specificPort) =>
        (byte)Kind.Probe | (ulong)(byte)trafficClass << 8 | (ulong)(byte)prefixLength << 16 | (specificPort ? 1ul : 0ul) << 24;

    private static ulong ClassKey(TrafficClass trafficClass) => (byte)Kind.Class | (ulong)(byte)trafficClass << 8;

    /// <summary>The key of bitmap word <paramref name="word"/> (for tests).</summary>
    public static ulong UsedIdsKeyOf(uint word) => UsedIdsKey(word);

    private static ulong UsedIdsKey(uint word) => (byte)Kind.UsedIds | (ulong)word << 32;

    /// <summary>True for the keys of the used-id bitmap (tests compare them with the labels apart from the counts).</summary>
    public static bool IsUsedIdsKey(ulong key) => (byte)key == (byte)Kind.UsedIds;

    /// <summary>The key of the free-id search's hint: the lowest bitmap word that may have a free id.</summary>
    public static ulong FreeHintKey => (byte)Kind.FreeHint;

    private static void Fill(BpfMap map, Dictionary<ulong, uint> counts)
    {
        if (counts.Count == 0)
            return;
        var keys = new byte[counts.Count * 8];
        var values = new byte[counts.Count * 4];
        var i = 0;
        foreach (var (key, count) in counts)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(keys.AsSpan(i * 8), key);
            BinaryPrimitives.WriteUInt32LittleEndian(values.AsSpan(i * 4), count);
            i++;
        }
        var written = map.UpdateBatch(keys, values);
        if (written != counts.Count)
            throw new BpfException($"batch update of map '{map.Info.Name}' wrote {written} of {counts.Count} entries", 0, BpfErrorReason.Other);
    }
}
