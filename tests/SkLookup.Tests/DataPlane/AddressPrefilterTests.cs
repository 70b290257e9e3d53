using System.Buffers.Binary;
using System.Net;
using SkLookup.DataPlane;

namespace SkLookup.Tests.DataPlane;

/// <summary>The prefilter may say "maybe" too often, but never "no" for an address inside a bound prefix.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class AddressPrefilterTests
{
    [Theory]
    [InlineData("10.0.0.0/8")]
    [InlineData("10.1.2.0/24")]
    [InlineData("10.1.2.3/32")]
    [InlineData("0.0.0.0/0")]
    [InlineData("2001:db8::/32")]
    [InlineData("2001:db8::/20")]
    [InlineData("2001:db8:1:2::/64")]
    [InlineData("2001::/16")]
    public void EveryAddressInThePrefixFallsIntoACoveredBucket(string prefix)
    {
        var network = IPNetwork.Parse(prefix);
        var match = new BindingMatch(Protocol.Tcp, network, 80);
        var family = network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? Family.IPv4 : Family.IPv6;
        var covered = AddressPrefilter.CoveredBuckets(match).ToHashSet();
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = network.BaseAddress.GetAddressBytes();
            for (var bit = network.PrefixLength; bit < bytes.Length * 8; bit++)
                if (random.Next(2) == 0)
                    bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
            var bucket = AddressPrefilter.Bucket(family, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
            Assert.Contains(bucket, covered);
        }
        var masks = AddressPrefilter.Build(family, [match]);
        var bit64 = 1ul << AddressPrefilter.Bit(family, network.PrefixLength, specificPort: true);
        Assert.All(covered, bucket => Assert.NotEqual(0ul, masks[bucket] & bit64));
    }

    [Fact]
    public void AHostBindingCoversOneBucket()
    {
        Assert.Single(AddressPrefilter.CoveredBuckets(new BindingMatch(Protocol.Udp, IPNetwork.Parse("192.0.2.7/32"), 0)));
        Assert.Single(AddressPrefilter.CoveredBuckets(new BindingMatch(Protocol.Udp, IPNetwork.Parse("2001:db8::7/128"), 0)));
    }
}
