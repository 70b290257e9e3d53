using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SkLookup.Hosting.Interop;

namespace SkLookup.Hosting;

/// <summary>
/// An IPv4 or IPv6 address and port as the kernel writes them in a <c>sockaddr_in</c> or
/// <c>sockaddr_in6</c>, kept by value, so receiving and replying allocate nothing. It is its own
/// dictionary key: equal end points are equal values.
/// </summary>
internal readonly struct RawEndPoint : IEquatable<RawEndPoint>
{
    // struct sockaddr_in:  u16 family (host order), be16 port, 4-byte address, 8 bytes of zero.
    // struct sockaddr_in6: u16 family, be16 port, be32 flowinfo, 16-byte address, u32 scope id.
    public const int SockaddrInSize = 16, SockaddrIn6Size = 28;

    private readonly ulong _high, _low; // The address bytes as they lie in memory; IPv4 uses the first 4.

    private RawEndPoint(AddressFamily family, ushort port, ulong high, ulong low, uint scopeId)
    {
        Family = family;
        Port = port;
        _high = high;
        _low = low;
        ScopeId = scopeId;
    }

    /// <summary>InterNetwork or InterNetworkV6; <see cref="AddressFamily.Unspecified"/> for the default value.</summary>
    public AddressFamily Family { get; }

    /// <summary>The port, in host order.</summary>
    public ushort Port { get; }

    /// <summary>The IPv6 scope (interface index), 0 for IPv4.</summary>
    public uint ScopeId { get; }

    /// <summary>True for an IPv6 address of the form ::ffff:a.b.c.d.</summary>
    public bool IsIPv4Mapped => Family == AddressFamily.InterNetworkV6 && _high == 0 && (uint)_low == 0xFFFF_0000u;

    /// <summary>True for fe80::/10.</summary>
    public bool IsLinkLocal => Family == AddressFamily.InterNetworkV6 && (_high & 0xC0FF) == 0x80FE;

    /// <summary>Reads a <c>sockaddr_in</c> or <c>sockaddr_in6</c>; the default value for anything else.</summary>
    public static RawEndPoint Read(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < 2)
            return default;
        var family = MemoryMarshal.Read<ushort>(sockaddr);
        if (family == LibC.AF_INET && sockaddr.Length >= 8)
            return new RawEndPoint(AddressFamily.InterNetwork, BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]),
                MemoryMarshal.Read<uint>(sockaddr[4..]), 0, 0);
        if (family == LibC.AF_INET6 && sockaddr.Length >= SockaddrIn6Size)
            return new RawEndPoint(AddressFamily.InterNetworkV6, BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]),
                MemoryMarshal.Read<ulong>(sockaddr[8..]), MemoryMarshal.Read<ulong>(sockaddr[16..]), MemoryMarshal.Read<uint>(sockaddr[24..]));
        return default;
    }

    /// <summary>An IPv4 address (4 bytes, network order) and port.</summary>
    public static RawEndPoint IPv4(ReadOnlySpan<byte> address, ushort port) =>
        new(AddressFamily.InterNetwork, port, MemoryMarshal.Read<uint>(address), 0, 0);

    /// <summary>An IPv6 address (16 bytes), port and scope.</summary>
    public static RawEndPoint IPv6(ReadOnlySpan<byte> address, ushort port, uint scopeId) =>
        new(AddressFamily.InterNetworkV6, port, MemoryMarshal.Read<ulong>(address), MemoryMarshal.Read<ulong>(address[8..]), scopeId);

    /// <summary>The same end point from a .NET one.</summary>
    public static RawEndPoint From(IPEndPoint endPoint)
    {
        Span<byte> address = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(address, out var written);
        return endPoint.AddressFamily == AddressFamily.InterNetwork
            ? IPv4(address[..written], (ushort)endPoint.Port)
            : IPv6(address, (ushort)endPoint.Port, (uint)endPoint.Address.ScopeId);
    }

    /// <summary>::ffff:a.b.c.d becomes a.b.c.d; anything else stays.</summary>
    public RawEndPoint UnmapIPv4() => IsIPv4Mapped ? new RawEndPoint(AddressFamily.InterNetwork, Port, _low >> 32, 0, 0) : this;

    /// <summary>a.b.c.d becomes ::ffff:a.b.c.d, which an IPv6 socket sends to; anything else stays.</summary>
    public RawEndPoint MapToIPv6() => Family == AddressFamily.InterNetwork
        ? new RawEndPoint(AddressFamily.InterNetworkV6, Port, 0, 0xFFFF_0000UL | (_high << 32), 0)
        : this;

    /// <summary>The address bytes: 4 for IPv4, 16 for IPv6.</summary>
    public void WriteAddress(Span<byte> destination)
    {
        if (Family == AddressFamily.InterNetwork)
        {
            MemoryMarshal.Write(destination, (uint)_high);
            return;
        }
        MemoryMarshal.Write(destination, _high);
        MemoryMarshal.Write(destination[8..], _low);
    }

    /// <summary>Writes the <c>sockaddr</c> and returns its length.</summary>
    public int Write(Span<byte> sockaddr)
    {
        if (Family == AddressFamily.InterNetwork)
        {
            sockaddr[..SockaddrInSize].Clear();
            MemoryMarshal.Write(sockaddr, (ushort)LibC.AF_INET);
            BinaryPrimitives.WriteUInt16BigEndian(sockaddr[2..], Port);
            MemoryMarshal.Write(sockaddr[4..], (uint)_high);
            return SockaddrInSize;
        }
        sockaddr[..SockaddrIn6Size].Clear();
        MemoryMarshal.Write(sockaddr, (ushort)LibC.AF_INET6);
        BinaryPrimitives.WriteUInt16BigEndian(sockaddr[2..], Port);
        MemoryMarshal.Write(sockaddr[8..], _high);
        MemoryMarshal.Write(sockaddr[16..], _low);
        MemoryMarshal.Write(sockaddr[24..], ScopeId);
        return SockaddrIn6Size;
    }

    /// <summary>A .NET end point (it allocates).</summary>
    public IPEndPoint ToIPEndPoint()
    {
        Span<byte> address = stackalloc byte[16];
        WriteAddress(address);
        return Family == AddressFamily.InterNetwork
            ? new IPEndPoint(new IPAddress(address[..4]), Port)
            : new IPEndPoint(new IPAddress(address, ScopeId), Port);
    }

    public bool Equals(RawEndPoint other) =>
        Family == other.Family && Port == other.Port && _high == other._high && _low == other._low && ScopeId == other.ScopeId;

    public override bool Equals(object? obj) => obj is RawEndPoint other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Family, Port, _high, _low, ScopeId);

    public override string ToString() => Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6) ? "(none)" : ToIPEndPoint().ToString();
}
