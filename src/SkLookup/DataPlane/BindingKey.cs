using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace SkLookup.DataPlane;

/// <summary>
/// The key of a binding in <see cref="DispatcherLayout.Bindings4"/> and <see cref="DispatcherLayout.Bindings6"/>:
/// the masked address in network order, then the port in host order (0 for any port), the protocol,
/// and the prefix length. The dispatcher builds the same bytes on its stack for each probe, so the
/// layout favours what the program can write with two or five plain stores.
/// </summary>
internal static class BindingKey
{
    /// <summary>An IPv4 key: address (4), port (2), protocol (1), prefix length (1).</summary>
    public const int SizeV4 = 8;

    /// <summary>An IPv6 key: address (16), port (2), protocol (1), prefix length (1).</summary>
    public const int SizeV6 = 20;

    /// <summary>The size of the key for <paramref name="family"/>.</summary>
    public static int Size(Family family) => family == Family.IPv4 ? SizeV4 : SizeV6;

    /// <summary>Writes the key of <paramref name="match"/> into <paramref name="key"/> (exactly <see cref="Size"/> bytes).</summary>
    public static void Encode(in BindingMatch match, Span<byte> key)
    {
        var addressSize = match.Family == Family.IPv4 ? 4 : 16;
        if (key.Length != addressSize + 4)
            throw new ArgumentException($"a key for {match.Prefix} is {addressSize + 4} bytes", nameof(key));
        if (!match.Prefix.BaseAddress.TryWriteBytes(key[..addressSize], out _))
            throw new ArgumentException("address does not fit", nameof(match));
        BinaryPrimitives.WriteUInt32LittleEndian(key[addressSize..], Tail(match.Port, match.Protocol, match.Prefix.PrefixLength));
    }

    /// <summary>Encodes a key into a new array.</summary>
    public static byte[] Encode(in BindingMatch match)
    {
        var key = new byte[Size(match.Family)];
        Encode(match, key);
        return key;
    }

    /// <summary>Reads a key back.</summary>
    public static BindingMatch Decode(ReadOnlySpan<byte> key)
    {
        if (key.Length is not (SizeV4 or SizeV6))
            throw new ArgumentException($"a binding key is {SizeV4} or {SizeV6} bytes, not {key.Length}", nameof(key));
        var addressSize = key.Length - 4;
        var tail = BinaryPrimitives.ReadUInt32LittleEndian(key[addressSize..]);
        var port = (ushort)(tail & 0xffff);
        var protocol = (Protocol)((tail >> 16) & 0xff);
        var length = (int)(tail >> 24);
        return new BindingMatch(protocol, new IPNetwork(new IPAddress(key[..addressSize]), length), port);
    }

    /// <summary>
    /// The key's last four bytes read as a little-endian u32: port | protocol &lt;&lt; 16 | length &lt;&lt; 24.
    /// The program adds the packet's port to the constant part.
    /// </summary>
    public static uint Tail(ushort port, Protocol protocol, int prefixLength) =>
        port | (uint)protocol << 16 | (uint)prefixLength << 24;
}
