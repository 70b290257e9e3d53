using SkLookup.Bpf.Features;

namespace SkLookup.TestKit;

/// <summary>
/// Skips a test that needs a kernel feature the running kernel lacks, with the probe's own reason
/// ("... is not supported by this kernel: needs Linux X.Y or later"). The test must be a
/// <c>[SkippableFact]</c> or <c>[SkippableTheory]</c>; on a plain <c>[Fact]</c> the skip is a failure.
/// </summary>
public static class KernelRequirement
{
    /// <summary>Skips unless the kernel has <paramref name="feature"/>.</summary>
    public static void Require(Probe.Feature feature)
    {
        if (!Probe.Has(feature))
            throw new Xunit.SkipException(Probe.NotSupported(feature).Message);
    }

    /// <summary>Skips unless the kernel has every one of <paramref name="features"/>.</summary>
    public static void Require(params Probe.Feature[] features)
    {
        foreach (var feature in features)
            Require(feature);
    }
}
