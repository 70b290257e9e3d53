using System.Net;
using System.Net.Sockets;

namespace SkLookup.Hosting;

/// <summary>
/// What <see cref="SteeredUdpSocket"/> received: the datagram's length, the client that sent it, and
/// the address and port the client sent it to, which sk_lookup may have steered to a socket bound
/// elsewhere. A value: keep it to reply later with <see cref="SteeredUdpSocket.SendReplyAsync"/>. Its
/// properties that return <see cref="IPEndPoint"/>s allocate; the port and family ones do not.
/// </summary>
public readonly struct SteeredDatagram : IEquatable<SteeredDatagram>
{
    internal SteeredDatagram(int length, bool truncated, RawEndPoint source, RawEndPoint destination, int interfaceIndex)
    {
        Length = length;
        Truncated = truncated;
        RawSource = source;
        RawDestination = destination;
        InterfaceIndex = interfaceIndex;
    }

    /// <summary>The bytes written to the buffer.</summary>
    public int Length { get; }

    /// <summary>True if the datagram was longer than the buffer, and its end was cut off (MSG_TRUNC).</summary>
    public bool Truncated { get; }

    /// <summary>The index of the interface the datagram arrived on (IP_PKTINFO / IPV6_PKTINFO), or 0 if unknown.</summary>
    public int InterfaceIndex { get; }

    /// <summary>The client: where the datagram came from, and where a reply goes. An IPv4 client of a dual-stack socket is reported as IPv4.</summary>
    public IPEndPoint Source => RawSource.UnmapIPv4().ToIPEndPoint();

    /// <summary>The address and port the client sent the datagram to (IP_ORIGDSTADDR / IPV6_ORIGDSTADDR), and where a reply must come from.</summary>
    public IPEndPoint Destination => RawDestination.UnmapIPv4().ToIPEndPoint();

    /// <summary>The client's port.</summary>
    public int SourcePort => RawSource.Port;

    /// <summary>The port the client sent to.</summary>
    public int DestinationPort => RawDestination.Port;

    /// <summary>The family of the traffic: InterNetwork for IPv4, even on a dual-stack IPv6 socket.</summary>
    public AddressFamily Family => RawDestination.UnmapIPv4().Family;

    /// <summary>The source as the kernel reported it (IPv4-mapped on a dual-stack socket).</summary>
    internal RawEndPoint RawSource { get; }

    /// <summary>The original destination as the kernel reported it.</summary>
    internal RawEndPoint RawDestination { get; }

    /// <inheritdoc />
    public bool Equals(SteeredDatagram other) =>
        Length == other.Length && Truncated == other.Truncated && InterfaceIndex == other.InterfaceIndex &&
        RawSource.Equals(other.RawSource) && RawDestination.Equals(other.RawDestination);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SteeredDatagram other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Length, RawSource, RawDestination);

    /// <summary>True if both describe the same datagram.</summary>
    public static bool operator ==(SteeredDatagram left, SteeredDatagram right) => left.Equals(right);

    /// <summary>True if they differ.</summary>
    public static bool operator !=(SteeredDatagram left, SteeredDatagram right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => $"{Length} bytes{(Truncated ? " (truncated)" : "")} from {Source} to {Destination}";
}
