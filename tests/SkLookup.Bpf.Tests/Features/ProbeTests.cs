using SkLookup.Bpf.Features;

namespace SkLookup.Bpf.Tests;

/// <summary>The feature probes on this kernel (6.18 has everything), and the shape of the error for a missing feature.</summary>
public sealed class ProbeTests
{
    [Fact]
    public void EveryFeatureIsPresentOnThisKernel()
    {
        Assert.True(Probe.HasSkLookup);
        Assert.True(Probe.HasSkLookupTestRun);
        Assert.True(Probe.HasIngressIfindex);
        Assert.True(Probe.HasLinkDetach);
    }

    [Theory]
    [InlineData(Probe.Feature.SkLookup)]
    [InlineData(Probe.Feature.SkLookupTestRun)]
    [InlineData(Probe.Feature.IngressIfindex)]
    [InlineData(Probe.Feature.LinkDetach)]
    public void RequireAcceptsAPresentFeature(Probe.Feature feature) => Probe.Require(feature);

    [Fact]
    public void RequireRefusesAnUnknownFeature() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Probe.Require((Probe.Feature)99));

    [Fact]
    public void MissingFeatureNamesTheKernelThatHasIt()
    {
        // A feature cannot be taken away from the running kernel, so check the exception Require throws.
        var error = new BpfNotSupportedException("sk_lookup test runs", "5.13", Errno.ENOTSUPP);

        Assert.Equal("sk_lookup test runs is not supported by this kernel: needs Linux 5.13 or later", error.Message);
        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal("sk_lookup test runs", error.Feature);
        Assert.Equal("5.13", error.MinimumKernel);
        Assert.Equal(Errno.ENOTSUPP, error.Errno);
        Assert.IsAssignableFrom<BpfException>(error);
    }
}
