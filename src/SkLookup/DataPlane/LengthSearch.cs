using System.Buffers.Binary;

namespace SkLookup.DataPlane;

/// <summary>
/// Binary search on prefix lengths with markers (Waldvogel et al., "Scalable high speed IP routing lookups", 1997),
/// the form of a hashed class with many prefix lengths: instead of one probe per (length, port kind) present, the
/// dispatcher runs two searches, each a binary search over the sorted lengths of one port kind: the specific-port
/// keys with the packet's port, and the any-port keys with port 0. A probe that finds an entry (a binding or a
/// marker) records the entry's best matching prefix and goes on to the longer half; one that finds nothing goes on
/// to the shorter half. So a lookup probes about log2(n) + 1 times per search instead of n times.
/// </summary>
/// <remarks>
/// <para>A marker is an entry at a length where the search must turn longer to reach a binding: for a binding of
/// length l, one marker at each length on the search path to l that is shorter than l (the binding's address masked
/// to that length, with the binding's port and protocol). Each entry's value carries its best matching prefix
/// (<see cref="Value"/>): for a binding itself, for a marker the longest binding of the same search (same port)
/// that covers the marker, which may be none. Markers are found by a lookup only on the way to a binding that may
/// match, and the recorded best matching prefix never gets worse along the search (a marker found later is longer
/// and is covered by every binding recorded before it), so the last value recorded is the answer of the search.</para>
/// <para>The two answers combine by the precedence rules: the longer prefix wins, and on an equal length the
/// specific port wins. A destination without a socket is the answer like any other, so its drop or fall-through
/// applies exactly as in the other forms. The keys of both searches live in the family's probe table with the
/// other classes' keys; the class's protocol is part of every key.</para>
/// <para>The address prefilter has each marker's bit set in the buckets of the binding it leads to
/// (<see cref="PrefilterProbes"/>), and a node whose bit is clear for the packet counts as a miss without a probe.
/// That is safe: every marker on the way to the packet's best binding lies on that binding's path, so its bit is set
/// where the binding can match; a skipped entry only leads where no better binding matches, and its best matching
/// prefix is then the one that the search reaches anyway.</para>
/// <para>Markers depend on bindings of other lengths, so a single bind or unbind in a class of this form is not
/// applied in place: the program and its tables are rebuilt (<see cref="DispatcherLoader.TryUpdateInPlace"/>).</para>
/// </remarks>
internal sealed class LengthSearch
{
    /// <summary>
    /// A hashed class with at least this many probes (prefix lengths of both port kinds) is searched. Measured with the
    /// benchmark at 1,000,000 bindings (<c>--search-threshold</c>, on a loaded machine): with every length present the
    /// search takes an IPv6 hit from 673-854 ns to 75-139 ns and a miss on a bound port from 1,065-1,563 ns to
    /// 64-125 ns (IPv4, whose prefilter is precise there, 17-22 ns either way). With the five lengths of the mixed
    /// mixes it is as fast for IPv4 and faster for IPv6 (a hit 28-41 ns instead of 51-66), but a searched class takes
    /// more table entries (its markers: 2.6 to 3.6 times the bindings with every length), builds up to five times
    /// slower, and a single bind or unbind in it rebuilds the program; so the few-length mixes keep the probes in turn and their in-place changes.
    /// </summary>
    public const int Threshold = 16;

    /// <summary>The flag of a value that holds a best matching prefix.</summary>
    public const uint HasPrefix = 0x8000_0000;

    /// <summary>A search over the sorted (ascending) lengths of each port kind.</summary>
    public LengthSearch(int[] specificLengths, int[] anyLengths)
    {
        SpecificLengths = specificLengths;
        AnyLengths = anyLengths;
    }

    /// <summary>The prefix lengths of the specific-port bindings, ascending.</summary>
    public int[] SpecificLengths { get; }

    /// <summary>The prefix lengths of the any-port bindings, ascending.</summary>
    public int[] AnyLengths { get; }

    /// <summary>
    /// The value of an entry: <see cref="HasPrefix"/>, the best matching prefix's length in bits 16-23 and its
    /// destination id in bits 0-15 (ids are below <see cref="DispatcherLayout.MaxDestinations"/>); 0 for none. The
    /// program compares the two searches' answers by their top 16 bits: a longer prefix is a larger number there.
    /// </summary>
    public static uint Value(int length, uint destinationId) => HasPrefix | (uint)length << 16 | destinationId;

    /// <summary>The index probed by the search over the lengths at indexes <paramref name="lo"/> to <paramref name="hi"/>.</summary>
    public static int Middle(int lo, int hi) => (lo + hi) / 2;

    /// <summary>The lengths at which a binding of length index <paramref name="index"/> needs markers: where the search turns longer on the way to it.</summary>
    public static IEnumerable<int> MarkerLengths(int[] lengths, int index)
    {
        var (lo, hi) = (0, lengths.Length - 1);
        while (lo <= hi)
        {
            var middle = Middle(lo, hi);
            if (middle == index)
                yield break;
            if (index > middle)
            {
                yield return lengths[middle];
                lo = middle + 1;
            }
            else
            {
                hi = middle - 1;
            }
        }
    }

    /// <summary>The table entries of a searched class: its bindings and their markers, each with its value.</summary>
    public List<(byte[] Key, uint Value)> Entries(TrafficClass trafficClass, IEnumerable<InlineBinding> bindings)
    {
        var family = trafficClass.Family();
        var protocol = trafficClass.Protocol();
        var entries = new List<(byte[] Key, uint Value)>();
        Span<byte> key = stackalloc byte[BindingKey.Size(family)];
        foreach (var group in bindings.GroupBy(binding => binding.Match.Port))
        {
            var lengths = group.Key == 0 ? AnyLengths : SpecificLengths;
            var items = new Dictionary<(UInt128 Address, int Length), (bool Real, uint Id)>();
            foreach (var binding in group)
                items[(Address(binding.Match), binding.Match.Prefix.PrefixLength)] = (true, binding.DestinationId);
            var reals = items.Keys.ToList();
            foreach (var (address, length) in reals)
                foreach (var markerLength in MarkerLengths(lengths, Array.BinarySearch(lengths, length)))
                    items.TryAdd((address & Mask(markerLength), markerLength), (false, 0));
            // The best matching prefix of each marker: a sweep in address order keeps the chain of bindings that
            // contain the current entry (prefixes nest or are disjoint), innermost on top.
            var sorted = items.Keys.ToArray();
            Array.Sort(sorted, (a, b) => a.Address != b.Address ? a.Address.CompareTo(b.Address) : a.Length.CompareTo(b.Length));
            var chain = new Stack<(UInt128 Address, int Length, uint Id)>();
            foreach (var item in sorted)
            {
                while (chain.Count > 0 && (item.Address & Mask(chain.Peek().Length)) != chain.Peek().Address)
                    chain.Pop();
                var (real, id) = items[item];
                uint value;
                if (real)
                {
                    value = Value(item.Length, id);
                    chain.Push((item.Address, item.Length, id));
                }
                else
                {
                    value = chain.Count > 0 ? Value(chain.Peek().Length, chain.Peek().Id) : 0;
                }
                Encode(family, item.Address, group.Key, protocol, item.Length, key);
                entries.Add((key.ToArray(), value));
            }
        }
        return entries;
    }

    /// <summary>
    /// The probes that the address prefilter must let through for <paramref name="bindings"/> of this class: each
    /// binding at its own length, and at each of its marker lengths within the binding's own prefix (a marker leads
    /// only to that binding, so a search may skip it wherever the binding cannot match).
    /// </summary>
    public IEnumerable<(System.Net.IPNetwork Prefix, int Length, bool SpecificPort)> PrefilterProbes(IEnumerable<InlineBinding> bindings)
    {
        foreach (var binding in bindings)
        {
            var match = binding.Match;
            var lengths = match.Port == 0 ? AnyLengths : SpecificLengths;
            yield return (match.Prefix, match.Prefix.PrefixLength, match.Port != 0);
            foreach (var markerLength in MarkerLengths(lengths, Array.BinarySearch(lengths, match.Prefix.PrefixLength)))
                yield return (match.Prefix, markerLength, match.Port != 0);
        }
    }

    /// <summary>An address as a 128-bit number, most significant bit first (IPv4 in the top 32 bits), so that prefixes compare by their bits.</summary>
    private static UInt128 Address(BindingMatch match)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        match.Prefix.BaseAddress.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private static UInt128 Mask(int length) => length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);

    private static void Encode(Family family, UInt128 address, ushort port, Protocol protocol, int length, Span<byte> key)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
        var addressSize = family == Family.IPv4 ? 4 : 16;
        bytes[..addressSize].CopyTo(key);
        BinaryPrimitives.WriteUInt32LittleEndian(key[addressSize..], BindingKey.Tail(port, protocol, length));
    }
}
