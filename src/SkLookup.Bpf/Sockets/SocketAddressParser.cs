using System.Buffers.Binary;
using System.Net;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>Reads <c>struct sockaddr_in</c> and <c>struct sockaddr_in6</c> as the kernel writes them.</summary>
public static class SocketAddressParser
{
    // struct sockaddr_in:  u16 family (host order), be16 port, 4-byte address.
    // struct sockaddr_in6: u16 family, be16 port, be32 flowinfo, 16-byte address, u32 scope id.
    private const int SockaddrIn6Size = 28;

    /// <summary>The endpoint in <paramref name="address"/>, or null if it is not an IPv4 or IPv6 address.</summary>
    public static IPEndPoint? Parse(ReadOnlySpan<byte> address)
    {
        if (address.Length < 2)
            return null;
        var family = BitConverter.ToUInt16(address);
        switch (family)
        {
            case LibC.AF_INET when address.Length >= 8:
                return new IPEndPoint(new IPAddress(address.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(address[2..]));
            case LibC.AF_INET6 when address.Length >= 24:
                var scopeId = address.Length >= SockaddrIn6Size ? BitConverter.ToUInt32(address[24..]) : 0;
                return new IPEndPoint(new IPAddress(address.Slice(8, 16), scopeId), BinaryPrimitives.ReadUInt16BigEndian(address[2..]));
            default:
                return null;
        }
    }
}
