using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// Prebuilt Ethernet frames for a flood as in the series: one source address, <see cref="BenchmarkAddresses.SourcePortCount"/>
/// source ports, one destination address and the target's destination ports (one, for the series' floods); a TCP SYN (with an MSS option) or a UDP datagram with
/// no payload, over IPv4 or IPv6, with every checksum computed.
/// </summary>
internal static class FloodFrames
{
    private const int EthernetHeader = 14, IPv4Header = 20, IPv6Header = 40, TcpHeader = 24, UdpHeader = 8;
    private const byte Tcp = 6, Udp = 17;

    /// <summary>One frame per source port.</summary>
    public static byte[][] Build(FloodTarget target, PhysicalAddress sourceMac, PhysicalAddress destinationMac)
    {
        var shape = target.Shape;
        var source = BenchmarkAddresses.Sender(shape);
        var destination = target.Destination;
        var frames = new byte[BenchmarkAddresses.SourcePortCount][];
        var random = new Random(20200702); // Fixed, so every run sends the same frames.
        for (var i = 0; i < frames.Length; i++)
            frames[i] = Frame(shape, sourceMac, destinationMac, source, destination, (ushort)(BenchmarkAddresses.FirstSourcePort + i), target.DestinationPort(i), (uint)random.Next());
        return frames;
    }

    /// <summary>One frame from <paramref name="sourcePort"/> to <paramref name="destinationPort"/>; <paramref name="sequence"/> is the SYN's initial sequence number.</summary>
    public static byte[] Frame(LookupShape shape, PhysicalAddress sourceMac, PhysicalAddress destinationMac,
        IPAddress source, IPAddress destination, ushort sourcePort, ushort destinationPort, uint sequence)
    {
        var transportLength = shape.IsTcp ? TcpHeader : UdpHeader;
        var ipLength = shape.IsIPv6 ? IPv6Header : IPv4Header;
        var frame = new byte[EthernetHeader + ipLength + transportLength];
        var span = frame.AsSpan();

        destinationMac.GetAddressBytes().CopyTo(span);
        sourceMac.GetAddressBytes().CopyTo(span[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[12..], (ushort)(shape.IsIPv6 ? 0x86dd : 0x0800));

        var protocol = shape.IsTcp ? Tcp : Udp;
        var ip = span.Slice(EthernetHeader, ipLength);
        if (shape.IsIPv6)
        {
            ip[0] = 0x60;                                                        // version 6, traffic class 0, flow label 0
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)transportLength);
            ip[6] = protocol;                                                    // next header
            ip[7] = 64;                                                          // hop limit
            source.TryWriteBytes(ip[8..], out _);
            destination.TryWriteBytes(ip[24..], out _);
        }
        else
        {
            ip[0] = 0x45;                                                        // version 4, 5 words
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(ipLength + transportLength));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], sourcePort);          // identification
            BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000);              // don't fragment
            ip[8] = 64;                                                          // TTL
            ip[9] = protocol;
            source.TryWriteBytes(ip[12..], out _);
            destination.TryWriteBytes(ip[16..], out _);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Of(ip));
        }

        var transport = span.Slice(EthernetHeader + ipLength, transportLength);
        BinaryPrimitives.WriteUInt16BigEndian(transport, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(transport[2..], destinationPort);
        int checksumOffset;
        if (shape.IsTcp)
        {
            BinaryPrimitives.WriteUInt32BigEndian(transport[4..], sequence);
            transport[12] = (TcpHeader / 4) << 4;                               // data offset: 6 words
            transport[13] = 0x02;                                                // SYN
            BinaryPrimitives.WriteUInt16BigEndian(transport[14..], 64240);       // window
            transport[20] = 2;                                                   // option: MSS 1460
            transport[21] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(transport[22..], 1460);
            checksumOffset = 16;
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(transport[4..], UdpHeader);   // length: header only
            checksumOffset = 6;
        }
        BinaryPrimitives.WriteUInt16BigEndian(transport[checksumOffset..], InternetChecksum.OfTransport(source, destination, protocol, transport));
        return frame;
    }
}
