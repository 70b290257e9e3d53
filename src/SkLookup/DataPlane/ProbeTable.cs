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
/// <para>Both buckets are taken from the top bits of products, so that each depends on every bit of the key (the
/// program computes them the same way, in <see cref="DispatcherProgram"/>). Placement is first fit with cuckoo
/// relocation: when both of a key's buckets are full, a key in one of them moves to its own other bucket if that has
/// a free slot, and the new key takes its place (one level, as a live insert does; placement then tries a bounded
/// random walk of such moves). Moves keep the invariant that lookups rely on: a key
/// lives in its second bucket only if its first has no empty slot (the bucket it leaves is refilled at once, and
/// the bucket it enters had an empty slot, so no key with that first bucket lives in its second). With both, a
/// million keys fit in the smallest table the count allows (at most half full); a second bucket taken from lower
/// bits of one product depended on the address alone for IPv4, so keys that share an address and differ in port or
/// length shared both buckets, and placement needed 4 to 16 times the memory.</para>
/// <para>The table used to be linear probing with up to 16 steps, a bounded loop. The verifier walks every turn of
/// such a loop for every probe, and a class with bindings at 100 or more prefix lengths (one probe each) made
/// the program take seconds to verify and then fail with ENOMEM. Two buckets unrolled are a fixed, small
/// amount of code per probe, and cost no more at run time: one array access for a hit in its first bucket.</para>
/// </remarks>
internal static class ProbeTable
{
    /// <summary>The slots of one bucket (one array element).</summary>
    public const int SlotsPerBucket = 4;

    /// <summary>The tail of a deleted slot: never a real key's tail (prefix lengths stop at 128).</summary>
    public const uint Tombstone = uint.MaxValue;

    /// <summary>The multiplier of the hash (2^64 / golden ratio).</summary>
    public const ulong Multiplier = 0x9E3779B97F4A7C15;

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

    /// <summary>
    /// The two buckets of a key in a table of 2^<paramref name="bits"/> buckets: the top bits of the hash, and the top
    /// bits of a second multiply of the hash folded onto itself. Both depend on every bit of the key: the low bits of
    /// a product depend only on the low bits of its operands, so a second bucket taken lower in the same hash gave
    /// keys that share an address (and differ in the tail: port, length) the same second bucket.
    /// </summary>
    public static (uint First, uint Second) Homes(ReadOnlySpan<byte> key, int bits)
    {
        var hash = Hash(key);
        return ((uint)(hash >> (64 - bits)), (uint)(((hash ^ (hash >> 32)) * Multiplier) >> (64 - bits)));
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
        var bucketSize = BucketSize(family);
        var random = new Random(bits); // the walk's choices, the same on every run for the same keys
        foreach (var (key, id) in entries)
        {
            var (first, second) = Homes(key, bits);
            var firstBucket = Bucket(first);
            var secondBucket = Bucket(second);
            if (FreeSlot(family, firstBucket, tombstones: false) is var free && free >= 0)
            {
                WriteSlot(family, firstBucket, free, key, id);
                continue;
            }
            if (FreeSlot(family, secondBucket, tombstones: false) is var free2 && free2 >= 0)
            {
                WriteSlot(family, secondBucket, free2, key, id);
                continue;
            }
            if (!Relocate(family, bits, first, firstBucket, key, id, Bucket) && !Relocate(family, bits, second, secondBucket, key, id, Bucket)
                && !Walk(family, bits, random.Next(2) == 0 ? first : second, key, id, random, Bucket))
                return null;
        }
        return buckets;

        byte[] Bucket(uint index)
        {
            if (!buckets.TryGetValue(index, out var bucket))
                buckets[index] = bucket = new byte[bucketSize];
            return bucket;
        }
    }

    /// <summary>
    /// One level of cuckoo relocation while placing: a key J of the full bucket <paramref name="index"/> (one of the new
    /// key's homes) moves to its other home if that has an empty slot, and the new key takes J's slot. The bucket stays
    /// full, so every key that lives in its second bucket still has a full first bucket.
    /// </summary>
    private static bool Relocate(Family family, int bits, uint index, byte[] bucket, byte[] key, uint id, Func<uint, byte[]> bucketAt)
    {
        var keySize = BindingKey.Size(family);
        var slotSize = SlotSize(family);
        for (var slot = 0; slot < SlotsPerBucket; slot++)
        {
            var resident = bucket.AsSpan(slot * slotSize, keySize);
            var (first, second) = Homes(resident, bits);
            var other = first == index ? second : first;
            if (other == index)
                continue;
            var otherBucket = bucketAt(other);
            var free = FreeSlot(family, otherBucket, tombstones: false);
            if (free < 0)
                continue;
            bucket.AsSpan(slot * slotSize, slotSize).CopyTo(otherBucket.AsSpan(free * slotSize));
            WriteSlot(family, bucket, slot, key, id);
            return true;
        }
        return false;
    }

    /// <summary>
    /// A random walk of evictions, for the rare key whose buckets are full and whose residents' other buckets are full
    /// too: the key takes a random resident's slot in <paramref name="index"/>, the resident goes to its other bucket,
    /// taking a slot there if none is free, and so on for up to <see cref="WalkSteps"/> moves. Every bucket on the way
    /// stays full, and only the last gains a key in a slot that was empty, so the invariant holds as for one move.
    /// </summary>
    private static bool Walk(Family family, int bits, uint index, byte[] key, uint id, Random random, Func<uint, byte[]> bucketAt)
    {
        var keySize = BindingKey.Size(family);
        var slotSize = SlotSize(family);
        var moving = new byte[slotSize];
        var evicted = new byte[slotSize];
        key.CopyTo(moving, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(moving.AsSpan(keySize), id);
        Span<int> candidates = stackalloc int[SlotsPerBucket];
        for (var step = 0; step < WalkSteps; step++)
        {
            var bucket = bucketAt(index);
            var count = 0;
            for (var slot = 0; slot < SlotsPerBucket; slot++)
            {
                var (first, second) = Homes(bucket.AsSpan(slot * slotSize, keySize), bits);
                if (first != second)
                    candidates[count++] = slot;
            }
            if (count == 0)
                return false;
            var victim = candidates[random.Next(count)];
            bucket.AsSpan(victim * slotSize, slotSize).CopyTo(evicted);
            moving.CopyTo(bucket, victim * slotSize);
            evicted.CopyTo(moving, 0);
            var (victimFirst, victimSecond) = Homes(moving.AsSpan(0, keySize), bits);
            index = victimFirst == index ? victimSecond : victimFirst;
            var target = bucketAt(index);
            var free = FreeSlot(family, target, tombstones: false);
            if (free >= 0)
            {
                moving.CopyTo(target, free * slotSize);
                return true;
            }
        }
        return false;
    }

    /// <summary>The most moves of a <see cref="Walk"/> before a placement gives up and tries a larger table.</summary>
    private const int WalkSteps = 64;

    /// <summary>The first slot of <paramref name="bucket"/> that is empty (or deleted, with <paramref name="tombstones"/>); -1 if none.</summary>
    private static int FreeSlot(Family family, ReadOnlySpan<byte> bucket, bool tombstones)
    {
        var keySize = BindingKey.Size(family);
        var slotSize = SlotSize(family);
        for (var slot = 0; slot < SlotsPerBucket; slot++)
        {
            var tail = BinaryPrimitives.ReadUInt32LittleEndian(bucket[(slot * slotSize + keySize - 4)..]);
            if (tail == 0 || (tombstones && tail == Tombstone))
                return slot;
        }
        return -1;
    }

    private static void WriteSlot(Family family, Span<byte> bucket, int slot, ReadOnlySpan<byte> key, uint id)
    {
        var at = slot * SlotSize(family);
        key.CopyTo(bucket[at..]);
        BinaryPrimitives.WriteUInt32LittleEndian(bucket[(at + key.Length)..], id);
    }

    /// <summary>Writes the placed buckets into a new table map.</summary>
    public static BpfMap Create(Family family, int bits, IEnumerable<KeyValuePair<uint, byte[]>> buckets) => ArrayMapFill.Create(Spec(family, bits), buckets);

    /// <summary>
    /// Adds or replaces a key in a live table. Returns false when both of its buckets are full and no key in them can
    /// move to its other bucket; the caller then builds a new table. A new slot is written twice: first with a
    /// tombstone tail, then whole, so a lookup never sees the key with a stale destination (the kernel copies a
    /// bucket as a whole, but not atomically; a half-written tail never equals a real one, whose protocol byte is 6
    /// or 17).
    /// </summary>
    /// <remarks>
    /// When both buckets are full, a resident key J moves to its other bucket if that has a free slot (one level of
    /// cuckoo relocation, as in <see cref="Place"/>), and the new key takes J's slot. J is written into its new bucket
    /// first, then its old slot becomes a tombstone, and only then is the new key written there: a concurrent lookup
    /// of J finds it in one place or the other at every moment. If J moved to its second bucket, its first is the one
    /// it left, which never has an empty slot again (a tombstone is not empty), so the lookup goes on to the second.
    /// </remarks>
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
            var free = FreeSlot(family, bucket, tombstones: true);
            if (free >= 0)
            {
                WriteLive(table, family, index, bucket, free, key, destinationId);
                return true;
            }
        }
        var other = new byte[BucketSize(family)];
        foreach (var (index, bucket) in new[] { (first, firstBucket), (second, secondBucket) })
        {
            for (var slot = 0; slot < SlotsPerBucket; slot++)
            {
                var resident = bucket.AsSpan(slot * slotSize, keySize).ToArray();
                var (residentFirst, residentSecond) = Homes(resident, bits);
                var otherIndex = residentFirst == index ? residentSecond : residentFirst;
                if (otherIndex == index || !table.TryLookup(BitConverter.GetBytes(otherIndex), other))
                    continue;
                var free = FreeSlot(family, other, tombstones: true);
                if (free < 0)
                    continue;
                var residentId = BinaryPrimitives.ReadUInt32LittleEndian(bucket.AsSpan(slot * slotSize + keySize));
                WriteLive(table, family, otherIndex, other, free, resident, residentId);
                BinaryPrimitives.WriteUInt32LittleEndian(bucket.AsSpan(slot * slotSize + keySize - 4), Tombstone);
                table.Update(BitConverter.GetBytes(index), bucket);
                WriteLive(table, family, index, bucket, slot, key, destinationId);
                return true;
            }
        }
        return false;
    }

    /// <summary>Writes a key into a free or deleted slot of a live bucket: first with a tombstone tail, then whole.</summary>
    private static void WriteLive(BpfMap table, Family family, uint index, byte[] bucket, int slot, ReadOnlySpan<byte> key, uint destinationId)
    {
        var at = slot * SlotSize(family);
        var keySize = key.Length;
        key.CopyTo(bucket.AsSpan(at));
        BinaryPrimitives.WriteUInt32LittleEndian(bucket.AsSpan(at + keySize - 4), Tombstone);
        BinaryPrimitives.WriteUInt32LittleEndian(bucket.AsSpan(at + keySize), destinationId);
        table.Update(BitConverter.GetBytes(index), bucket);
        key[^4..].CopyTo(bucket.AsSpan(at + keySize - 4));
        table.Update(BitConverter.GetBytes(index), bucket);
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
