using System.Buffers.Binary;

namespace SkLookup;

/// <summary>
/// Sorts bindings in <see cref="BindingTable.ComparePrecedence"/> order, fast enough for a million: each
/// binding's comparison key is computed once into a struct, instead of re-reading its address on each of
/// the ~20 comparisons a binding takes part in. The tests check that the order is the reference's.
/// </summary>
internal static class PrecedenceSort
{
    /// <summary>Returns a new list of <paramref name="bindings"/>, most specific first.</summary>
    public static List<Binding> Sort(IReadOnlyList<Binding> bindings)
    {
        var keys = new SortKey[bindings.Count];
        Span<byte> address = stackalloc byte[16];
        for (var i = 0; i < keys.Length; i++)
        {
            var binding = bindings[i];
            address.Clear();
            binding.Prefix.BaseAddress.TryWriteBytes(address, out _);
            keys[i] = new SortKey
            {
                // Longer prefixes first, then a specific port before any port, then family and protocol.
                Class = (uint)(255 - binding.Prefix.PrefixLength) << 24 | (binding.Port == 0 ? 1u : 0u) << 16 | (uint)binding.Family << 8 | (uint)binding.Protocol,
                AddressHigh = BinaryPrimitives.ReadUInt64BigEndian(address),
                AddressLow = BinaryPrimitives.ReadUInt64BigEndian(address[8..]),
                Port = binding.Port,
                Index = i,
            };
        }
        Array.Sort(keys, new Comparer(bindings));
        var sorted = new List<Binding>(keys.Length);
        foreach (var key in keys)
            sorted.Add(bindings[key.Index]);
        return sorted;
    }

    private struct SortKey
    {
        public uint Class;
        public ulong AddressHigh;
        public ulong AddressLow;
        public ushort Port;
        public int Index;
    }

    private readonly struct Comparer(IReadOnlyList<Binding> bindings) : IComparer<SortKey>
    {
        public int Compare(SortKey a, SortKey b)
        {
            var order = a.Class.CompareTo(b.Class);
            if (order != 0)
                return order;
            order = a.AddressHigh.CompareTo(b.AddressHigh);
            if (order != 0)
                return order;
            order = a.AddressLow.CompareTo(b.AddressLow);
            if (order != 0)
                return order;
            order = a.Port.CompareTo(b.Port);
            return order != 0 ? order : string.CompareOrdinal(bindings[a.Index].Label, bindings[b.Index].Label);
        }
    }
}
