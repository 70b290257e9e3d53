using System.Buffers.Binary;
using SkLookup.Bpf;

namespace SkLookup.DataPlane;

/// <summary>Creates the ARRAY maps the program owns (<see cref="ProbeTable"/>, <see cref="AddressPrefilter"/>) filled by batch updates.</summary>
internal static class ArrayMapFill
{
    /// <summary>
    /// How many entries one batch update writes. A million-binding table has hundreds of thousands of buckets;
    /// copying them all into one key buffer and one value buffer would allocate a second copy of the table (tens
    /// of MiB) for a single system call, while batches of this size need one call per 16,384 buckets.
    /// </summary>
    private const int EntriesPerBatch = 16384;

    /// <summary>
    /// Creates the map of <paramref name="spec"/> (u32 keys) and writes <paramref name="entries"/>, index to value
    /// (each exactly <see cref="MapSpec.ValueSize"/> bytes), with batch updates; the map is closed if that fails.
    /// The map is new and no program uses it yet, so writing it in several batches is as good as in one.
    /// </summary>
    public static BpfMap Create(MapSpec spec, IEnumerable<KeyValuePair<uint, byte[]>> entries)
    {
        var map = BpfMap.Create(spec);
        try
        {
            var valueSize = (int)spec.ValueSize;
            var batch = entries.TryGetNonEnumeratedCount(out var total) ? Math.Clamp(total, 1, EntriesPerBatch) : EntriesPerBatch;
            var keys = new byte[batch * 4];
            var values = new byte[batch * valueSize];
            var count = 0;
            foreach (var (index, value) in entries)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(keys.AsSpan(count * 4), index);
                value.CopyTo(values, count * valueSize);
                if (++count == batch)
                {
                    map.UpdateBatch(keys, values);
                    count = 0;
                }
            }
            if (count > 0)
                map.UpdateBatch(keys.AsSpan(0, count * 4), values.AsSpan(0, count * valueSize));
            return map;
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }
}
