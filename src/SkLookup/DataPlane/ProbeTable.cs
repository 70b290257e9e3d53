using System.Buffers.Binary;
using SkLookup.Bpf;

namespace SkLookup.DataPlane;

/// <summary>
/// The hash table that large classes are looked up in, laid out in an ARRAY map so that the dispatcher
/// probes it with inlined array accesses instead of a hash-map helper call. Open addressing with linear
/// probing: a key sits at most <see cref="MaxProbe"/> slots after its home slot, and every slot between
/// is occupied or a tombstone, so a lookup stops at the first empty slot. Each slot holds a
/// <see cref="BindingKey"/> followed by the destination id; an empty slot has a zero tail (a real key's
/// tail always carries its protocol), and a deleted one has <see cref="Tombstone"/>.
/// </summary>
internal static class ProbeTable
{
    /// <summary>The longest distance of a key from its home slot, which bounds every lookup.</summary>
    public const int MaxProbe = 16;

    /// <summary>The tail of a deleted slot: never a real key's tail (prefix lengths stop at 128).</summary>
    public const uint Tombstone = uint.MaxValue;

    /// <summary>The multiplier of the hash (2^64 / golden ratio).</summary>
    public const ulong Multiplier = 0x9E3779B97F4A7C15;

    private const int SmallestBits = 10;

    /// <summary>The smallest table, in bits, that holds <paramref name="count"/> keys at most half full.</summary>
    public static int MinimumBits(int count)
    {
        var bits = SmallestBits;
        while ((1L << bits) < count * 2L)
            bits++;
        return bits;
    }

    /// <summary>The map name of the table for <paramref name="family"/>.</summary>
    public static string MapName(Family family) => family == Family.IPv4 ? "sk_tab4" : "sk_tab6";

    /// <summary>A slot: the key, then the destination id.</summary>
    public static int SlotSize(Family family) => BindingKey.Size(family) + 4;

    /// <summary>The map that holds a table of 2^<paramref name="bits"/> slots.</summary>
    public static MapSpec Spec(Family family, int bits) => new()
    {
        Name = MapName(family), Type = MapType.Array, KeySize = 4, ValueSize = (uint)SlotSize(family), MaxEntries = 1u << bits,
    };

    /// <summary>The home slot of a key in a table of 2^<paramref name="bits"/> slots; the program computes the same.</summary>
    public static uint Home(ReadOnlySpan<byte> key, int bits)
    {
        ulong hash;
        if (key.Length == BindingKey.SizeV4)
        {
            hash = BinaryPrimitives.ReadUInt64LittleEndian(key) * Multiplier;
        }
        else
        {
            hash = BinaryPrimitives.ReadUInt64LittleEndian(key) * Multiplier;
            hash = (hash ^ BinaryPrimitives.ReadUInt64LittleEndian(key[8..])) * Multiplier;
            hash = (hash ^ BinaryPrimitives.ReadUInt32LittleEndian(key[16..])) * Multiplier;
        }
        return (uint)(hash >> (64 - bits));
    }

    /// <summary>
    /// Places <paramref name="entries"/> (keys of one family) in the smallest table, at most half full,
    /// where every key is within <see cref="MaxProbe"/> of its home. Returns the size in bits and the slots.
    /// </summary>
    public static (int Bits, Dictionary<uint, byte[]> Slots) Place(Family family, IReadOnlyList<(byte[] Key, uint DestinationId)> entries)
    {
        var bits = MinimumBits(entries.Count);
        while (true)
        {
            var slots = TryPlace(family, entries, bits);
            if (slots is not null)
                return (bits, slots);
            bits++;
        }
    }

    private static Dictionary<uint, byte[]>? TryPlace(Family family, IReadOnlyList<(byte[] Key, uint DestinationId)> entries, int bits)
    {
        var mask = (1u << bits) - 1;
        var slots = new Dictionary<uint, byte[]>(entries.Count);
        foreach (var (key, id) in entries)
        {
            var index = Home(key, bits);
            var placed = false;
            for (var distance = 0; distance <= MaxProbe && !placed; distance++, index = (index + 1) & mask)
            {
                if (slots.ContainsKey(index))
                    continue;
                slots[index] = Slot(family, key, id);
                placed = true;
            }
            if (!placed)
                return null;
        }
        return slots;
    }

    /// <summary>Writes the placed slots into a new table map.</summary>
    public static BpfMap Create(Family family, int bits, Dictionary<uint, byte[]> slots) => ArrayMapFill.Create(Spec(family, bits), slots);

    /// <summary>
    /// Adds or replaces a key in a live table. Returns false when no slot within <see cref="MaxProbe"/> of
    /// its home is free; the caller then builds a new table. The tail is written last, so a lookup never
    /// sees the key with a stale destination.
    /// </summary>
    public static bool TryInsert(BpfMap table, Family family, ReadOnlySpan<byte> key, uint destinationId)
    {
        var bits = Bits(table);
        var mask = (1u << bits) - 1;
        var index = Home(key, bits);
        var keySize = BindingKey.Size(family);
        uint? free = null;
        var slot = new byte[SlotSize(family)];
        for (var distance = 0; distance <= MaxProbe; distance++, index = (index + 1) & mask)
        {
            if (!table.TryLookup(BitConverter.GetBytes(index), slot))
                return false;
            var tail = BinaryPrimitives.ReadUInt32LittleEndian(slot.AsSpan(keySize - 4));
            if (slot.AsSpan(0, keySize).SequenceEqual(key))
            {
                table.Update(BitConverter.GetBytes(index), Slot(family, key, destinationId));
                return true;
            }
            if (tail is Tombstone or 0)
                free ??= index;
            if (tail == 0)
                break; // The key is not further on: lookups stop here too.
        }
        if (free is not { } target)
            return false;
        var pending = Slot(family, key, destinationId);
        BinaryPrimitives.WriteUInt32LittleEndian(pending.AsSpan(keySize - 4), Tombstone);
        table.Update(BitConverter.GetBytes(target), pending);
        table.Update(BitConverter.GetBytes(target), Slot(family, key, destinationId));
        return true;
    }

    /// <summary>Deletes a key from a live table by turning its slot into a tombstone. Returns false if it was not there.</summary>
    public static bool Remove(BpfMap table, Family family, ReadOnlySpan<byte> key)
    {
        var bits = Bits(table);
        var mask = (1u << bits) - 1;
        var index = Home(key, bits);
        var keySize = BindingKey.Size(family);
        var slot = new byte[SlotSize(family)];
        for (var distance = 0; distance <= MaxProbe; distance++, index = (index + 1) & mask)
        {
            if (!table.TryLookup(BitConverter.GetBytes(index), slot))
                return false;
            if (slot.AsSpan(0, keySize).SequenceEqual(key))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(slot.AsSpan(keySize - 4), Tombstone);
                table.Update(BitConverter.GetBytes(index), slot);
                return true;
            }
            if (BinaryPrimitives.ReadUInt32LittleEndian(slot.AsSpan(keySize - 4)) == 0)
                return false;
        }
        return false;
    }

    private static int Bits(BpfMap table) => System.Numerics.BitOperations.Log2(table.MaxEntries);

    private static byte[] Slot(Family family, ReadOnlySpan<byte> key, uint destinationId)
    {
        var slot = new byte[SlotSize(family)];
        key.CopyTo(slot);
        BinaryPrimitives.WriteUInt32LittleEndian(slot.AsSpan(key.Length), destinationId);
        return slot;
    }
}
