using SkLookup.Bpf.Features;

namespace SkLookup.Bpf.Tests;

/// <summary>
/// The feature probes on the running kernel, and the shape of the error for a missing feature. A probe
/// that wrongly says "missing" would make tests skip quietly, so every feature that the kernel's version
/// promises must be found (kernels may have more, backported, but never less).
/// </summary>
public sealed class ProbeTests
{
    public static TheoryData<Probe.Feature> Features => [.. Enum.GetValues<Probe.Feature>()];

    [Theory]
    [MemberData(nameof(Features))]
    public void EveryFeatureOfTheKernelVersionIsFound(Probe.Feature feature)
    {
        var minimum = KernelVersion.Parse(Probe.NotSupported(feature).MinimumKernel);

        if (KernelVersion.Current >= minimum)
            Assert.True(Probe.Has(feature), $"{feature} needs Linux {minimum} and this is {KernelVersion.Release}, but the probe did not find it");
    }

    [Theory]
    [MemberData(nameof(Features))]
    public void RequireAgreesWithTheProbe(Probe.Feature feature)
    {
        if (Probe.Has(feature))
        {
            Probe.Require(feature);
            return;
        }
        var error = Assert.Throws<BpfNotSupportedException>(() => Probe.Require(feature));
        Assert.Equal(Probe.NotSupported(feature).Message, error.Message);
        Assert.EndsWith($"needs Linux {error.MinimumKernel} or later", error.Message);
    }

    [Fact]
    public void AllListsEveryFeatureOnceAsProbed()
    {
        var all = Probe.All();

        Assert.Equal(Enum.GetValues<Probe.Feature>(), all.Select(f => f.Feature));
        foreach (var feature in all)
        {
            Assert.Equal(Probe.Has(feature.Feature), feature.Present);
            Assert.Equal(Probe.NotSupported(feature.Feature).Feature, feature.Name);
            Assert.Matches(@"^\d+\.\d+$", feature.MinimumKernel);
        }
    }

    [Fact]
    public void TheKernelVersionIsRead()
    {
        Assert.NotEqual("unknown", KernelVersion.Release);
        Assert.True(KernelVersion.Current >= new Version(5, 9), KernelVersion.Release);
        Assert.Equal(new Version(5, 10, 0), KernelVersion.Parse("5.10.0-32-cloud-amd64"));
        Assert.Equal(new Version(6, 12, 117), KernelVersion.Parse("6.12.117+deb13-cloud-amd64"));
        Assert.Equal(new Version(6, 18, 44), KernelVersion.Parse("6.18.44-fc-v1045"));
        Assert.Equal(new Version(0, 0, 0), KernelVersion.Parse("unknown"));
    }

    [Fact]
    public void MemlockIsRaisedWhereTheKernelChargesIt()
    {
        // Creating any map raises the limit first where the kernel charges memlock (before 5.11).
        using var map = BpfMap.Create(new MapSpec { Name = "memlock", Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 1 });

        Assert.Null(MemlockLimit.EnsureRaised());
        Assert.Equal(!Probe.HasMemcgAccounting, MemlockLimit.KernelChargesMemlock);
        if (MemlockLimit.KernelChargesMemlock)
            Assert.Equal(ulong.MaxValue, MemlockLimit.Current);
    }

    [Fact]
    public void RequireRefusesAnUnknownFeature() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Probe.Require((Probe.Feature)99));

    [Fact]
    public void MissingFeatureNamesTheKernelThatHasIt()
    {
        // A feature cannot be taken away from the running kernel, so check the exception Require throws.
        var error = Probe.NotSupported(Probe.Feature.SkLookupTestRun, Errno.ENOTSUPP);

        Assert.Equal("sk_lookup test runs is not supported by this kernel: needs Linux 5.13 or later", error.Message);
        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal("sk_lookup test runs", error.Feature);
        Assert.Equal("5.13", error.MinimumKernel);
        Assert.Equal(Errno.ENOTSUPP, error.Errno);
        Assert.IsAssignableFrom<BpfException>(error);
    }
}
