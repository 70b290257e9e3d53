using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;

namespace SkLookup.Bpf;

/// <summary>A synthetic socket lookup: the packet's protocol and 4-tuple, for <see cref="BpfProgram.TestRun"/>.</summary>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="Remote">The packet's source address and port.</param>
/// <param name="Local">The packet's destination address and port.</param>
public sealed record SkLookupTestInput(ProtocolType Protocol, IPEndPoint Remote, IPEndPoint Local)
{
    /// <summary>Writes the <c>struct bpf_sk_lookup</c> input for a test run: the cookie and bytes from 64 on stay 0, as the kernel requires.</summary>
    public void Encode(Span<byte> context)
    {
        if (Remote.AddressFamily != Local.AddressFamily)
            throw new ArgumentException("remote and local addresses must be of one family");
        if (Protocol is not (ProtocolType.Tcp or ProtocolType.Udp))
            throw new ArgumentException($"sk_lookup runs for TCP and UDP, not {Protocol}");
        context[..SkLookupContext.Size].Clear();
        var v6 = Local.AddressFamily == AddressFamily.InterNetworkV6;
        BinaryPrimitives.WriteUInt32LittleEndian(context[SkLookupContext.Family..], (uint)(v6 ? SkLookupContext.AfInet6 : SkLookupContext.AfInet));
        BinaryPrimitives.WriteUInt32LittleEndian(context[SkLookupContext.Protocol..], (uint)(Protocol == ProtocolType.Tcp ? SkLookupContext.IpProtoTcp : SkLookupContext.IpProtoUdp));
        if (v6)
        {
            Remote.Address.TryWriteBytes(context.Slice(SkLookupContext.RemoteIp6, 16), out _);
            Local.Address.TryWriteBytes(context.Slice(SkLookupContext.LocalIp6, 16), out _);
        }
        else
        {
            Remote.Address.TryWriteBytes(context.Slice(SkLookupContext.RemoteIp4, 4), out _);
            Local.Address.TryWriteBytes(context.Slice(SkLookupContext.LocalIp4, 4), out _);
        }
        // remote_port is network order in a __be16; local_port is a host-order u32.
        BinaryPrimitives.WriteUInt16BigEndian(context[SkLookupContext.RemotePort..], (ushort)Remote.Port);
        BinaryPrimitives.WriteUInt32LittleEndian(context[SkLookupContext.LocalPort..], (uint)Local.Port);
    }
}

/// <summary>The outcome of an sk_lookup test run.</summary>
/// <param name="Verdict">What the program returned.</param>
/// <param name="SelectedSocketCookie">The cookie of the socket the program selected, or 0.</param>
/// <param name="MeanDurationNs">The mean time per run in nanoseconds, as the kernel measured it.</param>
public readonly record struct SkLookupTestResult(SkAction Verdict, ulong SelectedSocketCookie, uint MeanDurationNs);
