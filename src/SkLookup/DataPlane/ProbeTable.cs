using System.Buffers.Binary;
using SkLookup.Bpf;

namespace SkLookup.DataPlane;

/// <summary>
/// The hash table that large classes are looked up in, laid out in an ARRAY map so that the dispatcher
/// probes it with inlined array accesses instead of a hash-map helper call. Each array element is a bucket of
/// <see cref="SlotsPerBucket"/> slots, and a key may live in one of two buckets (<see cref="Homes"/>): its
/// first, or its second when the first was full. A slot holds a <see cref="BindingKey"/> followed by the
/// destination id; an empty slot has a zero tail (a real key's tail always carries its protocol), a deleted
/// one <see cref="Tombstone"/>. Slots only ever go from empty to used, and used to deleted and back, so an
/// empty slot in a key's first bucket proves that the key is nowhere: a lookup reads one bucket, two at most.
/// </summary>
/// <remarks>
/// The table used to be linear probing with up to 16 steps, a bounded loop. The verifier walks every turn of
/// such a loop for every probe, and a class with bindings at 100 or more prefix lengths (one probe each) made
/// the program take seconds to verify and then fail with ENOMEM. Two buckets unrolled are a fixed, small
/// amount of code per probe, and cost no more at run time: one array access for a hit in its first bucket.
/// </remarks>
internal static class ProbeTable
{
    /// <summary>The slots of one bucket (one array element).</summary>
    public const int SlotsPerBucket = 4;

    /// <summary>The tail of a deleted slot: never a real key's tail (prefix lengths stop at 128).</summary>
    public const uint Tombstone = uint.MaxValue;

    /// <summary>The multiplier of the hash (2^64 / golden ratio).</summary>
    public const ulong Multiplier = 0x9E3779B97F4A7C15;

    /// <summary>How far the second bucket's index is shifted down in the hash (disjoint from the first's bits up to 2^24 buckets).</summary>
    public const int SecondShift = 16;

    private const int SmallestBits = 8;

    /// <summary>The smallest table, in bits (2^bits buckets), that holds <paramref name="count"/> keys at most half full.</summary>
    public static int MinimumBits(int count)
    {
        var bits = SmallestBits;
        while ((1L << bits) * SlotsPerBucket < count * 2L)
            bits++;
        return bits;
    }

    /// <summary>The map name of the table for <paramref name="family"/>.</summary>
    public static string MapName(Family family) => family == Family.IPv4 ? "sk_tab4" : "sk_tab6";

    /// <summary>A slot: the key, then the destination id; IPv4 slots are padded to 16 bytes, so a bucket is a cache line.</summary>
    public static int SlotSize(Family family) => family == Family.IPv4 ? 16 : BindingKey.SizeV6 + 4;

    /// <summary>A bucket: <see cref="SlotsPerBucket"/> slots.</summary>
    public static int BucketSize(Family family) => SlotSize(family) * SlotsPerBucket;

    /// <summary>The map that holds a table of 2^<paramref name="bits"/> buckets.</summary>
    public static MapSpec Spec(Family family, int bits) => new()
    {
        Name = MapName(family), Type = MapType.Array, KeySize = 4, ValueSize = (uint)BucketSize(family), MaxEntries = 1u << bits,
    };

    /// <summary>The hash of a key; the program computes the same.</summary>
    public static ulong Hash(ReadOnlySpan<byte> key)
    {
        var hash = BinaryPrimitives.ReadUInt64LittleEndian(key) * Multiplier;
        if (key.Length != BindingKey.SizeV4)
        {
            hash = (hash ^ BinaryPrimitives.ReadUInt64LittleEndian(key[8..])) * Multiplier;
            hash = (hash ^ BinaryPrimitives.ReadUInt32LittleEndian(key[16..])) * Multiplier;
        }
        return hash;
    }

    /// <summary>The two buckets of a key in a table of 2^<paramref name="bits"/> buckets: the top bits of the hash, and bits further down.</summary>
    public static (uint First, uint Second) Homes(ReadOnlySpan<byte> key, int bits)
    {
        var hash = Hash(key);
        return ((uint)(hash >> (64 - bits)), (uint)(hash >> SecondShift) & ((1u << bits) - 1));
    }

    /// <summary>
    /// Places <paramref name="entries"/> (keys of one family) in the smallest table, at most half full, where every
    /// key fits in one of its two buckets. Returns the size in bits and the occupied buckets.
    /// </summary>
    public static (int Bits, Dictionary<uint, byte[]> Buckets) Place(Family family, IReadOnlyList<(byte[] Key, uint DestinationId)> entries)
    {
        for (var bits = MinimumBits(entries.Count); ; bits++)
            if (TryPlace(family, entries, bits) is { } buckets)
                return (bits, buckets);
    }

    private static Dictionary<uint, byte[]>? TryPlace(Family family, IReadOnlyList<(byte[] Key, uint DestinationId)> entries, int bits)
    {
        var buckets = new Dictionary<uint, byte[]>(Math.Min(entries.Count, 1 << bits));
        var keySize = BindingKey.Size(family);
        foreach (var (key, id) in entries)
        {
            var (first, second) = Homes(key, bits);
            if (!TryPut(first) && !TryPut(second))
                return null;

            bool TryPut(uint index)
            {
                if (!buckets.TryGetValue(index, out var bucket))
                    buckets[index] = bucket = new byte[BucketSize(family)];
                for (var slot = 0; slot < SlotsPerBucket; slot++)
                {
                    var at = slot * SlotSize(family);
                    if (BinaryPrimitives.ReadUInt32LittleEndian(bucket.AsSpan(at + keySize - 4)) != 0)
                        continue;
                    key.CopyTo(bucket, at);
                    BinaryPrimitives.WriteUInt32LittleEndian(bucket.AsSpan(at + keySize), id);
                    return true;
                }
                return false;
            }
        }
        return buckets;
    }

    /// <summary>Writes the placed buckets into a new table map.</summary>
    public static BpfMap Create(Family family, int bits, Dictionary<uint, byte[]> buckets) => ArrayMapFill.Create(Spec(family, bits), buckets);

    /// <summary>
    /// Adds or replaces a key in a live table. Returns false when both of its buckets are full; the caller then
    /// builds a new table. A new slot is written twice: first with a tombstone tail, then whole, so a lookup
    /// never sees the key with a stale destination (the kernel copies a bucket as a whole, but not atomically;
    /// a half-written tail never equals a real one, whose protocol byte is 6 or 17).
    /// </summary>
    public static bool TryInsert(BpfMap table, Family family, ReadOnlySpan<byte> key, uint destinationId)
    {
        var bits = Bits(table);
        var (first, second) = Homes(key, bits);
        var keySize = BindingKey.Size(family);
        var slotSize = SlotSize(family);
        var firstBucket = new byte[BucketSize(family)];
        var secondBucket = new byte[BucketSize(family)];
        if (!table.TryLookup(BitConverter.GetBytes(first), firstBucket) || !table.TryLookup(BitConverter.GetBytes(second), secondBucket))
            return false;
        foreach (var (index, bucket) in new[] { (first, firstBucket), (second, secondBucket) })
        {
            for (var slot = 0; slot < SlotsPerBucket; slot++)
            {
                if (!bucket.AsSpan(slot * slotSize, keySize).SequenceEqual(key))
                    continue;
                BinaryPrimitives.WriteUInt32LittleEndian(bucket.AsSpan(slot * slotSize + keySize), destinationId);
                table.Update(BitConverter.GetBytes(index), bucket);
                return true;
            }
        }
        foreach (var (index, bucket) in new[] { (first, firstBucket), (second, secondBucket) })
        {
            for (var slot = 0; slot < SlotsPerBucket; slot++)
            {
                var at = slot * slotSize;
                var tail = BinaryPrimitives.ReadUInt32LittleEndian(bucket.AsSpan(at + keySize - 4));
                if (tail is not (0 or Tombstone))
                    continue;
                key.CopyTo(bucket.AsSpan(at));
                BinaryPrimitives.WriteUInt32LittleEndian(bucket.AsSpan(at + keySize - 4), Tombstone);
                BinaryPrimitives.WriteUInt32LittleEndian(bucket.AsSpan(at + keySize), destinationId);
                table.Update(BitConverter.GetBytes(index), bucket);
                key[^4..].CopyTo(bucket.AsSpan(at + keySize - 4));
                table.Update(BitConverter.GetBytes(index), bucket);
                return true;
            }
        }
        return false;
    }

    /// <summary>Deletes a key from a live table by turning its slot into a tombstone. Returns false if it was not there.</summary>
    public static bool Remove(BpfMap table, Family family, ReadOnlySpan<byte> key)
    {
        var bits = Bits(table);
        var (first, second) = Homes(key, bits);
        var keySize = BindingKey.Size(family);
        var slotSize = SlotSize(family);
        var bucket = new byte[BucketSize(family)];
        foreach (var index in new[] { first, second })
        {
            if (!table.TryLookup(BitConverter.GetBytes(index), bucket))
                return false;
            for (var slot = 0; slot < SlotsPerBucket; slot++)
            {
                if (!bucket.AsSpan(slot * slotSize, keySize).SequenceEqual(key))
                    continue;
                BinaryPrimitives.WriteUInt32LittleEndian(bucket.AsSpan(slot * slotSize + keySize - 4), Tombstone);
                table.Update(BitConverter.GetBytes(index), bucket);
                return true;
            }
        }
        return false;
    }

    private static int Bits(BpfMap table) => System.Numerics.BitOperations.Log2(table.MaxEntries);
}
