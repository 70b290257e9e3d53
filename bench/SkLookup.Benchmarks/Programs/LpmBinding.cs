using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace SkLookup.Benchmarks.Programs;

/// <summary>
/// One entry of the series' benchmark table: protocol, exact port and an address prefix, mapped to a
/// socket index. The key is laid out like inet-tool's <c>struct addr</c>: a u32 prefix length, then
/// protocol (u8), one zero pad byte, the port (u16, host order) and a 16-byte address, with IPv4 as
/// an IPv4-mapped IPv6 address (::ffff:a.b.c.d). The prefix length counts bits after the first u32.
/// </summary>
internal readonly record struct LpmBinding(ProtocolType Protocol, IPAddress Prefix, int PrefixLength, int Port, uint SocketIndex)
{
    /// <summary>The size of the key in bytes.</summary>
    public const int KeySize = 24;

    /// <summary>The key's data bits: protocol 8, pad 8, port 16, address 128.</summary>
    public const int FullPrefixBits = (KeySize - 4) * 8;

    /// <summary>Bits of the key data before the address: protocol, pad and port.</summary>
    private const int BitsBeforeAddress = 32;

    /// <summary>Writes the key into <paramref name="key"/> (24 bytes).</summary>
    public void EncodeKey(Span<byte> key)
    {
        key[..KeySize].Clear();
        var v4 = Prefix.AddressFamily == AddressFamily.InterNetwork;
        var addressBits = v4 ? 96 + PrefixLength : PrefixLength;
        BinaryPrimitives.WriteUInt32LittleEndian(key, (uint)(BitsBeforeAddress + addressBits));
        key[4] = (byte)(Protocol == ProtocolType.Tcp ? 6 : 17);
        BinaryPrimitives.WriteUInt16LittleEndian(key[6..], (ushort)Port);
        if (v4)
        {
            key[18] = 0xff;
            key[19] = 0xff;
            Prefix.TryWriteBytes(key.Slice(20, 4), out _);
        }
        else
        {
            Prefix.TryWriteBytes(key.Slice(8, 16), out _);
        }
    }

    /// <summary>The key as a new array.</summary>
    public byte[] EncodeKey()
    {
        var key = new byte[KeySize];
        EncodeKey(key);
        return key;
    }
}
