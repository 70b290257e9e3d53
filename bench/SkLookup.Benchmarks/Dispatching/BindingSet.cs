using System.Net;
using System.Net.Sockets;

namespace SkLookup.Benchmarks.Dispatching;

/// <summary>
/// A set of dispatcher bindings of one traffic class for the benchmarks: one <em>steered</em> binding that
/// the hit lookups match, plus filler bindings that no benchmark lookup matches, in a <see cref="BindingMix"/>.
/// The steered binding is for <see cref="BenchmarkAddresses.ServicePort"/> on the receiver's address, with
/// the mix's shortest prefix length, so every longer probe runs before it hits. Fillers live in 10.0.0.0/8
/// and fd00::/8, on ports 1024 and up (or any port); nothing covers the miss lookups:
/// the receiver's address on <see cref="BenchmarkAddresses.UnboundPort"/> (a port no binding names) and
/// <see cref="MissAddress"/> on the service port (a port that bindings name, on an address none covers).
/// </summary>
internal static class BindingSet
{
    /// <summary>The destination id of the steered binding; fillers use 1 to <see cref="FillerDestinations"/>.</summary>
    public const uint SteeredId = 0;

    /// <summary>How many destinations the fillers spread over.</summary>
    public const int FillerDestinations = 4095;

    /// <summary>An address outside every binding's prefix, for lookups on a port that bindings do name.</summary>
    public static IPAddress MissAddress(LookupShape shape) => shape.IsIPv6 ? IPAddress.Parse("3fff::1") : IPAddress.Parse("203.0.113.1");

    /// <summary>The label of destination <paramref name="id"/>, for the control plane.</summary>
    public static string Label(uint id) => id == SteeredId ? "steered" : $"filler-{id}";

    /// <summary>
    /// <paramref name="count"/> bindings of <paramref name="shape"/>'s class: the steered one (to
    /// <paramref name="steeredAddress"/>, the receiver's by default) first, then fillers.
    /// </summary>
    public static List<(Binding Binding, uint DestinationId)> Generate(LookupShape shape, int count, BindingMix mix, IPAddress? steeredAddress = null,
        ushort steeredPort = BenchmarkAddresses.ServicePort)
    {
        var protocol = shape.IsTcp ? Protocol.Tcp : Protocol.Udp;
        var lengths = mix.PrefixLengths(shape.IsIPv6);
        var bindings = new List<(Binding, uint)>(count);
        var seen = new HashSet<BindingMatch>(count);
        var steered = new Binding(Label(SteeredId), protocol, Prefix(steeredAddress ?? BenchmarkAddresses.Receiver(shape), mix.SteeredLength(shape.IsIPv6)), steeredPort);
        bindings.Add((steered, SteeredId));
        seen.Add(steered.Match);
        var labels = new string[FillerDestinations + 1];
        for (var i = 0; bindings.Count < count; i++)
        {
            var length = lengths[i % lengths.Count];
            var port = mix.AllowsAnyPort(length) && i % 4 == 0 ? (ushort)0 : (ushort)(1024 + i % 60000);
            var prefix = Prefix(FillerAddress(shape.IsIPv6, i), length);
            var id = (uint)(1 + i % FillerDestinations);
            var binding = new Binding(labels[id] ??= Label(id), protocol, prefix, port);
            if (seen.Add(binding.Match))
                bindings.Add((binding, id));
        }
        return bindings;
    }

    // A scrambled 24-bit number (odd multiplier: a bijection) spreads fillers over 10.0.0.0/8 or fd00::/8.
    private static IPAddress FillerAddress(bool ipv6, int i)
    {
        var bits = (uint)i * 2654435761u & 0xffffff;
        Span<byte> bytes = stackalloc byte[ipv6 ? 16 : 4];
        bytes.Clear();
        bytes[0] = ipv6 ? (byte)0xfd : (byte)10;
        bytes[1] = (byte)(bits >> 16);
        bytes[2] = (byte)(bits >> 8);
        bytes[3] = (byte)bits;
        if (ipv6)
        {
            // Host bits too, so that /48 to /128 prefixes differ past the first 32 bits.
            bytes[6] = (byte)(i >> 8);
            bytes[15] = (byte)i;
        }
        return new IPAddress(bytes);
    }

    private static IPNetwork Prefix(IPAddress address, int length)
    {
        Span<byte> bytes = stackalloc byte[address.AddressFamily == AddressFamily.InterNetwork ? 4 : 16];
        address.TryWriteBytes(bytes, out _);
        for (var bit = length; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPNetwork(new IPAddress(bytes), length);
    }
}
