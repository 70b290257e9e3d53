namespace SkLookup.Bpf;

/// <summary>The running kernel lacks a feature. Tests use this type to skip.</summary>
public sealed class BpfNotSupportedException : BpfException
{
    /// <summary>Creates the exception for <paramref name="feature"/>, which needs Linux <paramref name="minimumKernel"/>.</summary>
    public BpfNotSupportedException(string feature, string minimumKernel, int errno = 0)
        : base($"{feature} is not supported by this kernel: needs Linux {minimumKernel} or later", errno, BpfErrorReason.NotSupported)
    {
        Feature = feature;
        MinimumKernel = minimumKernel;
    }

    /// <summary>The missing feature.</summary>
    public string Feature { get; }

    /// <summary>The first Linux version that has it, e.g. "5.13".</summary>
    public string MinimumKernel { get; }
}
