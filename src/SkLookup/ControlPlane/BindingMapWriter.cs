using System.Buffers.Binary;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.ControlPlane;

/// <summary>Fills fresh binding and port maps for a whole binding set with batch updates.</summary>
internal static class BindingMapWriter
{
    /// <summary>Entries per BPF_MAP_UPDATE_BATCH call: large enough to amortise the syscall, small enough to bound the buffers.</summary>
    private const int Chunk = 64 * 1024;

    /// <summary>Writes every binding of <paramref name="ids"/> (<paramref name="count4"/> of them IPv4) and the port bits they need.</summary>
    public static void Fill(BpfMap bindings4, BpfMap bindings6, BpfMap ports, IReadOnlyDictionary<BindingMatch, uint> ids, int count4)
    {
        var keys4 = new byte[Math.Min(count4, Chunk) * BindingKey.SizeV4];
        var keys6 = new byte[Math.Min(ids.Count - count4, Chunk) * BindingKey.SizeV6];
        var values4 = new byte[keys4.Length / BindingKey.SizeV4 * 4];
        var values6 = new byte[keys6.Length / BindingKey.SizeV6 * 4];
        var pending4 = 0;
        var pending6 = 0;
        var portBits = new uint[65536];
        foreach (var (match, id) in ids)
        {
            var v4 = match.Family == Family.IPv4;
            if (v4)
            {
                BindingKey.Encode(match, keys4.AsSpan(pending4 * BindingKey.SizeV4, BindingKey.SizeV4));
                BinaryPrimitives.WriteUInt32LittleEndian(values4.AsSpan(pending4 * 4), id);
                if (++pending4 * BindingKey.SizeV4 == keys4.Length)
                    Flush(bindings4, keys4, values4, ref pending4, BindingKey.SizeV4);
            }
            else
            {
                BindingKey.Encode(match, keys6.AsSpan(pending6 * BindingKey.SizeV6, BindingKey.SizeV6));
                BinaryPrimitives.WriteUInt32LittleEndian(values6.AsSpan(pending6 * 4), id);
                if (++pending6 * BindingKey.SizeV6 == keys6.Length)
                    Flush(bindings6, keys6, values6, ref pending6, BindingKey.SizeV6);
            }
            if (match.Port != 0)
                portBits[match.Port] |= TrafficClasses.Of(v4 ? Family.IPv4 : Family.IPv6, match.Protocol).PortBit();
        }
        Flush(bindings4, keys4, values4, ref pending4, BindingKey.SizeV4);
        Flush(bindings6, keys6, values6, ref pending6, BindingKey.SizeV6);

        var portKeys = new byte[portBits.Length * 4];
        var portValues = new byte[portBits.Length * 4];
        for (var port = 0; port < portBits.Length; port++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(portKeys.AsSpan(port * 4), (uint)port);
            BinaryPrimitives.WriteUInt32LittleEndian(portValues.AsSpan(port * 4), portBits[port]);
        }
        ports.UpdateBatch(portKeys, portValues);
    }

    private static void Flush(BpfMap map, byte[] keys, byte[] values, ref int pending, int keySize)
    {
        if (pending == 0)
            return;
        var written = map.UpdateBatch(keys.AsSpan(0, pending * keySize), values.AsSpan(0, pending * 4));
        if (written != pending)
            throw new BpfException($"batch update of map '{map.Info.Name}' wrote {written} of {pending} entries", 0, BpfErrorReason.Other);
        pending = 0;
    }
}
