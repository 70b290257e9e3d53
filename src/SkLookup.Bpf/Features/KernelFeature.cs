namespace SkLookup.Bpf.Features;

/// <summary>One kernel feature as <see cref="Probe.All"/> found it.</summary>
/// <param name="Feature">Which feature.</param>
/// <param name="Name">What it is, as errors name it, e.g. "sk_lookup test runs".</param>
/// <param name="MinimumKernel">The first upstream Linux version that has it, e.g. "5.13".</param>
/// <param name="Present">True if the running kernel has it; null if this process may not probe (probing loads programs, which needs CAP_BPF).</param>
public sealed record KernelFeature(Probe.Feature Feature, string Name, string MinimumKernel, bool? Present);
