using System.Buffers.Binary;
using SkLookup.Bpf;

namespace SkLookup.DataPlane;

/// <summary>Creates the ARRAY maps the program owns (<see cref="ProbeTable"/>, <see cref="AddressPrefilter"/>) filled in one batch update.</summary>
internal static class ArrayMapFill
{
    /// <summary>
    /// Creates the map of <paramref name="spec"/> (u32 keys) and writes <paramref name="entries"/>, index to value
    /// (each exactly <see cref="MapSpec.ValueSize"/> bytes), with one batch update; the map is closed if that fails.
    /// </summary>
    public static BpfMap Create(MapSpec spec, IReadOnlyCollection<KeyValuePair<uint, byte[]>> entries)
    {
        var map = BpfMap.Create(spec);
        try
        {
            var valueSize = (int)spec.ValueSize;
            var keys = new byte[entries.Count * 4];
            var values = new byte[entries.Count * valueSize];
            var i = 0;
            foreach (var (index, value) in entries)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(keys.AsSpan(i * 4), index);
                value.CopyTo(values, i * valueSize);
                i++;
            }
            map.UpdateBatch(keys, values);
            return map;
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }
}
