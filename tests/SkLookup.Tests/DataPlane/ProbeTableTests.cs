using System.Buffers.Binary;
using System.Net;
using SkLookup.DataPlane;
using Xunit.Abstractions;

namespace SkLookup.Tests.DataPlane;

/// <summary>
/// Placement in the probe table: realistic key sets (many keys share an address and differ only in port or
/// length, as in the benchmark's mixes) fit in the smallest table that the count allows, or one bit more.
/// </summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class ProbeTableTests(ITestOutputHelper output)
{
    /// <summary>The benchmark's binding mixes: prefix lengths (IPv4, IPv6) and whether every fourth binding is for any port.</summary>
    public static TheoryData<string, bool, string> Mixes => new()
    {
        { "host", false, "host" }, { "host+any", false, "host+any" }, { "mixed", false, "mixed" }, { "mixed+any", false, "mixed+any" },
        { "every length", false, "every length" }, { "every length+any", false, "every length+any" },
        { "host", true, "host" }, { "host+any", true, "host+any" }, { "mixed", true, "mixed" }, { "mixed+any", true, "mixed+any" },
        { "every length", true, "every length" }, { "every length+any", true, "every length+any" },
    };

    [Theory]
    [MemberData(nameof(Mixes))]
    public void AMillionRealisticKeysFitInTheSmallestTableOrOneBitMore(string mix, bool ipv6, string _)
    {
        var family = ipv6 ? Family.IPv6 : Family.IPv4;
        var entries = Keys(mix, ipv6, 1 << 20);
        var (bits, buckets) = ProbeTable.Place(family, entries);
        var minimum = ProbeTable.MinimumBits(entries.Count);
        output.WriteLine($"{family} {mix}: {entries.Count:N0} keys, {bits} bits (minimum {minimum}), {(1L << bits) * ProbeTable.BucketSize(family) / 1048576.0:F0} MiB");
        Assert.InRange(bits, minimum, minimum + 1);
        Assert.Equal(entries.Count, buckets.Values.Sum(bucket => CountUsed(family, bucket)));
    }

    private static int CountUsed(Family family, byte[] bucket)
    {
        var used = 0;
        var keySize = BindingKey.Size(family);
        for (var slot = 0; slot < ProbeTable.SlotsPerBucket; slot++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(bucket.AsSpan(slot * ProbeTable.SlotSize(family) + keySize - 4)) != 0)
                used++;
        return used;
    }

    /// <summary>Keys as the benchmark's BindingSet makes them: fillers in 10.0.0.0/8 or fd00::/8, ports 1024 and up, half tcp and half udp.</summary>
    internal static List<(byte[] Key, uint DestinationId)> Keys(string mix, bool ipv6, int count)
    {
        int[] lengths = mix switch
        {
            "host" or "host+any" => [ipv6 ? 128 : 32],
            "mixed" or "mixed+any" => ipv6 ? [128, 64, 56, 48, 32] : [32, 28, 24, 20, 16],
            _ => [.. Enumerable.Range(0, ipv6 ? 129 : 33).Reverse()],
        };
        var anyPort = mix.EndsWith("+any", StringComparison.Ordinal);
        var everyLength = mix.StartsWith("every", StringComparison.Ordinal);
        var entries = new List<(byte[], uint)>(count);
        var seen = new HashSet<BindingMatch>(count);
        foreach (var protocol in new[] { Protocol.Tcp, Protocol.Udp })
        {
            for (var i = 0; entries.Count < count * (protocol == Protocol.Tcp ? 1 : 2) / 2; i++)
            {
                var length = lengths[i % lengths.Length];
                var port = anyPort && (!everyLength || length >= 8) && i % 4 == 0 ? (ushort)0 : (ushort)(1024 + i % 60000);
                var match = new BindingMatch(protocol, Prefix(FillerAddress(ipv6, i), length), port);
                if (seen.Add(match))
                    entries.Add((BindingKey.Encode(match), (uint)(1 + i % 4095)));
            }
        }
        return entries;
    }

    private static IPAddress FillerAddress(bool ipv6, int i)
    {
        var bits = (uint)i * 2654435761u & 0xffffff;
        var bytes = new byte[ipv6 ? 16 : 4];
        bytes[0] = ipv6 ? (byte)0xfd : (byte)10;
        bytes[1] = (byte)(bits >> 16);
        bytes[2] = (byte)(bits >> 8);
        bytes[3] = (byte)bits;
        if (ipv6)
        {
            bytes[6] = (byte)(i >> 8);
            bytes[15] = (byte)i;
        }
        return new IPAddress(bytes);
    }

    private static IPNetwork Prefix(IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = length; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPNetwork(new IPAddress(bytes), length);
    }
}
