using System.Buffers.Binary;
using System.Net;

namespace SkLookup.Benchmarks.Flood;

/// <summary>The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.</summary>
internal static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> to a running 32-bit sum (an odd last byte is padded with zero).</summary>
    public static uint Add(uint sum, ReadOnlySpan<byte> data)
    {
        var i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            sum += (uint)(data[i] << 8);
        return sum;
    }

    /// <summary>Folds the carries and complements: the value to store, in host order.</summary>
    public static ushort Finish(uint sum)
    {
        while (sum >> 16 != 0)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>The checksum of <paramref name="data"/> alone (an IPv4 header).</summary>
    public static ushort Of(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>
    /// The TCP or UDP checksum of <paramref name="segment"/> (its checksum field zeroed) with the pseudo
    /// header of its IP version: addresses, protocol and length.
    /// </summary>
    public static ushort OfTransport(IPAddress source, IPAddress destination, byte protocol, ReadOnlySpan<byte> segment)
    {
        Span<byte> address = stackalloc byte[16];
        source.TryWriteBytes(address, out var length);
        var sum = Add(0, address[..length]);
        destination.TryWriteBytes(address, out length);
        sum = Add(sum, address[..length]);
        // IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, three zeros, next header. Both add up the same way.
        sum += protocol;
        sum += (uint)segment.Length;
        var checksum = Finish(Add(sum, segment));
        // UDP sends a computed 0 as 0xffff, since 0 means "no checksum".
        return protocol == 17 && checksum == 0 ? (ushort)0xffff : checksum;
    }
}
