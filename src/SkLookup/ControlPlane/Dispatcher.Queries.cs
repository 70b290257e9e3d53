using System.Buffers.Binary;
using System.Net;
using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup;

/// <summary>
/// Queries that answer quickly at a million bindings: they read the binding maps in large batches and look
/// at each entry's raw key and value, building <see cref="Binding"/> objects only for what they return.
/// </summary>
public sealed partial class Dispatcher
{
    /// <summary>How many bindings each destination has, ordered by label, family and protocol; destinations without bindings are left out.</summary>
    public IReadOnlyList<BindingCount> CountBindings() => Translate(() =>
    {
        CheckReadable();
        // The summary counts them already, where the state has a trusted one; otherwise one pass over the binding maps.
        var perId = TrustedSummary()?.DestinationCounts() ?? CountByScan();
        var destinations = DestinationsTable();
        var result = new List<BindingCount>(perId.Count);
        foreach (var (id, count) in perId)
        {
            if (destinations.TryGet(id, out var destination))
                result.Add(new BindingCount(destination.Label, destination.Family, destination.Protocol, count));
            else
                result.Add(new BindingCount($"#{id}", Family.IPv4, Protocol.Tcp, count)); // An id without a label entry: damaged, but counted.
        }
        result.Sort((a, b) => ByDestination(a.Label, a.Family, a.Protocol, b.Label, b.Family, b.Protocol));
        return (IReadOnlyList<BindingCount>)result;
    });

    private Dictionary<uint, int> CountByScan()
    {
        var perId = new Dictionary<uint, int>();
        foreach (var family in new[] { Family.IPv4, Family.IPv6 })
        {
            ScanBindings(family, (keys, values, count, keySize) =>
            {
                for (var i = 0; i < count; i++)
                {
                    var id = BinaryPrimitives.ReadUInt32LittleEndian(values[(i * 4)..]);
                    perId[id] = perId.GetValueOrDefault(id) + 1;
                }
            });
        }
        return perId;
    }

    /// <summary>
    /// The first <paramref name="limit"/> bindings that <paramref name="filter"/> takes, in precedence order (the
    /// order of <see cref="Bindings()"/>), and how many it takes in all. With a small limit this costs one pass
    /// over the maps' raw entries, whatever their number.
    /// </summary>
    public BindingSelection SelectBindings(BindingFilter filter, int limit) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        CheckReadable();
        var destinations = DestinationsTable();
        HashSet<uint>? ids = null;
        if (filter.Label is { } label)
        {
            ids = [];
            foreach (var (_, id) in destinations.OfLabel(label))
                ids.Add(id);
            if (ids.Count == 0)
                return new BindingSelection([], 0);
        }
        // The kept entries are ordered most specific last, so the heap's root is the one to drop first.
        var kept = new PriorityQueue<RawBinding, RawBinding>(Comparer<RawBinding>.Create((a, b) => b.CompareTo(a)));
        var all = limit == int.MaxValue ? new List<RawBinding>() : null;
        var matched = 0;
        Span<byte> filterAddress = stackalloc byte[16];
        var filterLength = -1;
        if (filter.Prefix is { } range)
        {
            range.BaseAddress.TryWriteBytes(filterAddress, out _);
            filterLength = range.PrefixLength;
        }
        var filterBytes = filterAddress.ToArray();
        foreach (var family in new[] { Family.IPv4, Family.IPv6 })
        {
            if (filter.Family is { } onlyFamily && onlyFamily != family)
                continue;
            if (filter.PrefixFamily is { } prefixFamily && prefixFamily != family)
                continue;
            ScanBindings(family, (keys, values, count, keySize) =>
            {
                for (var i = 0; i < count; i++)
                {
                    var key = keys.Slice(i * keySize, keySize);
                    var id = BinaryPrimitives.ReadUInt32LittleEndian(values[(i * 4)..]);
                    if (ids is not null && !ids.Contains(id))
                        continue;
                    var raw = RawBinding.From(key, id);
                    if (filter.Protocol is { } protocol && raw.Protocol != protocol)
                        continue;
                    if (filter.Port is { } port && (port == 0 ? raw.Port != 0 : raw.Port != 0 && raw.Port != port))
                        continue;
                    if (filterLength >= 0 && !raw.Overlaps(filterBytes, filterLength))
                        continue;
                    matched++;
                    if (all is not null)
                        all.Add(raw);
                    else if (kept.Count < limit)
                        kept.Enqueue(raw, raw);
                    else if (limit > 0 && raw.CompareTo(kept.Peek()) < 0)
                        kept.EnqueueDequeue(raw, raw);
                }
            });
        }
        var selected = all ?? [.. kept.UnorderedItems.Select(item => item.Element)];
        selected.Sort();
        var result = new List<Binding>(selected.Count);
        foreach (var raw in selected)
            result.Add(raw.ToBinding(destinations.TryGet(raw.DestinationId, out var destination) ? destination.Label : $"#{raw.DestinationId}"));
        return new BindingSelection(result, matched);
    });

    /// <summary>Reads the binding map of <paramref name="family"/> in batches, handing each to <paramref name="handler"/> with the key size.</summary>
    private void ScanBindings(Family family, RawBatchHandler handler)
    {
        var map = _state.Maps.Bindings(family);
        var keySize = map.KeySize;
        if (!map.TryLookupBatches((keys, values, count) => handler(keys, values, count, keySize), batchEntries: 65536))
            throw new BpfException($"map '{map.Info.Name}' does not support batch lookups", 0, BpfErrorReason.NotSupported);
    }

    private delegate void RawBatchHandler(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, int count, int keySize);

    /// <summary>
    /// A binding as its map entry holds it, ordered as <see cref="PrecedenceSort"/> orders bindings: longer
    /// prefixes first, a specific port before any port, then family, protocol, address and port. (Two entries
    /// never tie: the key is unique, and the label is the value.)
    /// </summary>
    private readonly struct RawBinding : IComparable<RawBinding>
    {
        private readonly uint _class;
        private readonly ulong _high;
        private readonly ulong _low;

        private RawBinding(uint precedenceClass, ulong high, ulong low, ushort port, Protocol protocol, byte length, bool ipv4, uint id)
        {
            _class = precedenceClass;
            _high = high;
            _low = low;
            Port = port;
            Protocol = protocol;
            Length = length;
            IsIPv4 = ipv4;
            DestinationId = id;
        }

        public ushort Port { get; }

        public Protocol Protocol { get; }

        public byte Length { get; }

        public bool IsIPv4 { get; }

        public uint DestinationId { get; }

        public static RawBinding From(ReadOnlySpan<byte> key, uint id)
        {
            var ipv4 = key.Length == BindingKey.SizeV4;
            var addressSize = key.Length - 4;
            var tail = BinaryPrimitives.ReadUInt32LittleEndian(key[addressSize..]);
            var port = (ushort)(tail & 0xffff);
            var protocol = (Protocol)((tail >> 16) & 0xff);
            var length = (byte)(tail >> 24);
            Span<byte> address = stackalloc byte[16];
            address.Clear();
            key[..addressSize].CopyTo(address);
            var family = ipv4 ? Family.IPv4 : Family.IPv6;
            var precedence = (uint)(255 - length) << 24 | (port == 0 ? 1u : 0u) << 16 | (uint)family << 8 | (uint)protocol;
            return new RawBinding(precedence, BinaryPrimitives.ReadUInt64BigEndian(address), BinaryPrimitives.ReadUInt64BigEndian(address[8..]),
                port, protocol, length, ipv4, id);
        }

        /// <summary>True if this prefix and <paramref name="address"/>/<paramref name="length"/> (of the same family) overlap: they agree on their shorter length.</summary>
        public bool Overlaps(ReadOnlySpan<byte> address, int length)
        {
            var common = Math.Min(length, (int)Length);
            var other = (BinaryPrimitives.ReadUInt64BigEndian(address), BinaryPrimitives.ReadUInt64BigEndian(address[8..]));
            return Prefix(_high, _low, common) == Prefix(other.Item1, other.Item2, common);
        }

        private static (ulong, ulong) Prefix(ulong high, ulong low, int bits) => bits switch
        {
            0 => (0, 0),
            < 64 => (high & ~(ulong.MaxValue >> bits), 0),
            64 => (high, 0),
            < 128 => (high, low & ~(ulong.MaxValue >> (bits - 64))),
            _ => (high, low),
        };

        public Binding ToBinding(string label)
        {
            Span<byte> address = stackalloc byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(address, _high);
            BinaryPrimitives.WriteUInt64BigEndian(address[8..], _low);
            return new Binding(label, Protocol, new IPNetwork(new IPAddress(IsIPv4 ? address[..4] : address), Length), Port);
        }

        public int CompareTo(RawBinding other)
        {
            var order = _class.CompareTo(other._class);
            if (order != 0)
                return order;
            order = _high.CompareTo(other._high);
            if (order != 0)
                return order;
            order = _low.CompareTo(other._low);
            return order != 0 ? order : Port.CompareTo(other.Port);
        }
    }
}
