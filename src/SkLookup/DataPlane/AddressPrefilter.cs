using System.Buffers.Binary;
using SkLookup.Bpf;

namespace SkLookup.DataPlane;

/// <summary>
/// A coarse map from the top of a destination address to the probes that can match there, so that a
/// lookup far from every binding of a large class skips all its probes. A bucket is the top 16 bits of an
/// IPv4 address, or a hash of the top 32 bits of an IPv6 address; its value has a bit per group of prefix
/// lengths and port kind (<see cref="Bit"/>). Bits are only ever added in place, so the filter can answer
/// "maybe" for a key that is gone, never "no" for a key that is there.
/// </summary>
internal static class AddressPrefilter
{
    /// <summary>Buckets per family.</summary>
    public const int Buckets = 1 << 16;

    /// <summary>The map name of the filter for <paramref name="family"/>.</summary>
    public static string MapName(Family family) => family == Family.IPv4 ? "sk_pre4" : "sk_pre6";

    /// <summary>The filter's map: a u64 mask per bucket.</summary>
    public static MapSpec Spec(Family family) => new()
    {
        Name = MapName(family), Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = Buckets,
    };

    /// <summary>The bit of a probe: prefix lengths grouped by 2 (IPv4) or 4 (IPv6), two bits per group for specific and any port.</summary>
    public static int Bit(Family family, int prefixLength, bool specificPort) =>
        Math.Min(31, prefixLength / (family == Family.IPv4 ? 2 : 4)) * 2 + (specificPort ? 1 : 0);

    /// <summary>The bits of every any-port probe (<see cref="Bit"/> is even for them).</summary>
    public const ulong AnyPortBits = 0x5555_5555_5555_5555;

    /// <summary>The bucket of an address word as the program loads it (the first four bytes, little-endian).</summary>
    public static uint Bucket(Family family, uint firstWord) => family == Family.IPv4
        ? firstWord & 0xffff
        : (uint)(((ulong)firstWord * ProbeTable.Multiplier) >> 48);

    /// <summary>Every bucket that an address in <paramref name="match"/>'s prefix can fall into.</summary>
    public static IEnumerable<uint> CoveredBuckets(BindingMatch match)
    {
        var family = match.Family;
        Span<byte> address = stackalloc byte[16];
        match.Prefix.BaseAddress.TryWriteBytes(address, out _);
        var top = BinaryPrimitives.ReadUInt32BigEndian(address); // the first 32 bits, most significant first
        var significant = family == Family.IPv4 ? 16 : 32;      // the bits a bucket depends on
        var length = match.Prefix.PrefixLength;
        if (family == Family.IPv6 && length <= 16)
            return Enumerable.Range(0, Buckets).Select(bucket => (uint)bucket);
        var free = Math.Max(0, significant - length);             // bits of the bucket the prefix leaves open
        var first = top >> (32 - significant) << (32 - significant);
        return Enumerable.Range(0, 1 << free).Select(i =>
        {
            var word = first | ((uint)i << (32 - significant));
            return Bucket(family, BinaryPrimitives.ReverseEndianness(word));
        });
    }

    /// <summary>
    /// The filter for a family's keys, as one mask per bucket. A prefix shorter than the bucket's bits covers many
    /// buckets, and many bindings share one such prefix and bit, so each distinct (prefix, bit) is expanded once:
    /// expanding every short binding made 100,000 bindings with short IPv6 prefixes take minutes.
    /// </summary>
    public static ulong[] Build(Family family, IEnumerable<BindingMatch> matches) =>
        Build(family, matches.Select(match => (match.Prefix, match.Prefix.PrefixLength, match.Port != 0)));

    /// <summary>
    /// The filter for probes of the given lengths and port kinds, each set in the buckets of a prefix: a binding's own
    /// (its prefix, its length), or, for a marker of a <see cref="LengthSearch"/>, the binding it leads to (that
    /// binding's prefix, the marker's length), so that a search skips a marker only where its binding cannot match.
    /// </summary>
    public static ulong[] Build(Family family, IEnumerable<(System.Net.IPNetwork Prefix, int Length, bool SpecificPort)> probes)
    {
        var masks = new ulong[Buckets];
        var everywhere = 0ul;
        var wide = new HashSet<(System.Net.IPNetwork Prefix, ulong Bit)>();
        var significant = family == Family.IPv4 ? 16 : 32;
        foreach (var (prefix, probeLength, specificPort) in probes)
        {
            var match = new BindingMatch(Protocol.Tcp, prefix, specificPort ? (ushort)1 : (ushort)0);
            var bit = 1ul << Bit(family, probeLength, specificPort);
            var length = match.Prefix.PrefixLength;
            if (length == 0 || (family == Family.IPv6 && length <= 16))
                everywhere |= bit;
            else if (length < significant)
                wide.Add((match.Prefix, bit));
            else
                foreach (var bucket in CoveredBuckets(match))
                    masks[bucket] |= bit;
        }
        foreach (var (prefix, bit) in wide)
            foreach (var bucket in CoveredBuckets(new BindingMatch(Protocol.Tcp, prefix, 0)))
                masks[bucket] |= bit;
        if (everywhere != 0)
            for (var bucket = 0; bucket < masks.Length; bucket++)
                masks[bucket] |= everywhere;
        return masks;
    }

    /// <summary>Writes the non-empty buckets into a new filter map.</summary>
    public static BpfMap Create(Family family, ulong[] masks)
    {
        var used = new List<KeyValuePair<uint, byte[]>>();
        for (var bucket = 0; bucket < masks.Length; bucket++)
            if (masks[bucket] != 0)
                used.Add(new((uint)bucket, BitConverter.GetBytes(masks[bucket])));
        return ArrayMapFill.Create(Spec(family), used);
    }

    /// <summary>Adds the bits of a new key to a live filter.</summary>
    public static void Add(BpfMap filter, Family family, BindingMatch match)
    {
        var bit = 1ul << Bit(family, match.Prefix.PrefixLength, match.Port != 0);
        Span<byte> value = stackalloc byte[8];
        foreach (var bucket in CoveredBuckets(match))
        {
            var key = BitConverter.GetBytes(bucket);
            filter.TryLookup(key, value);
            var mask = BinaryPrimitives.ReadUInt64LittleEndian(value);
            if ((mask & bit) != 0)
                continue;
            BinaryPrimitives.WriteUInt64LittleEndian(value, mask | bit);
            filter.Update(key, value);
        }
    }
}
