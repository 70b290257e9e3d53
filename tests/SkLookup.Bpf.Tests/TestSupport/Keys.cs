using System.Buffers.Binary;

namespace SkLookup.Bpf.Tests;

/// <summary>Small key and value encodings shared by the map tests.</summary>
internal static class Keys
{
    /// <summary>A u32 key in host order, as array, SOCKMAP and hash maps with 4-byte keys take it.</summary>
    public static byte[] U32(uint value) => BitConverter.GetBytes(value);

    /// <summary>A u64 value in host order.</summary>
    public static byte[] U64(ulong value) => BitConverter.GetBytes(value);

    /// <summary>Reads a u32 written by <see cref="U32"/>.</summary>
    public static uint ReadU32(ReadOnlySpan<byte> bytes) => BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    /// <summary>Reads a u64 written by <see cref="U64"/>.</summary>
    public static ulong ReadU64(ReadOnlySpan<byte> bytes) => BinaryPrimitives.ReadUInt64LittleEndian(bytes);

    /// <summary>Concatenates <paramref name="count"/> encoded items back to back, for batch operations.</summary>
    public static byte[] Concat(int count, Func<int, byte[]> item)
    {
        var parts = new List<byte>();
        for (var i = 0; i < count; i++)
            parts.AddRange(item(i));
        return [.. parts];
    }
}
