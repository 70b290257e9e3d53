using System.Globalization;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// What this process may do, as the kernel decides it: its effective capabilities and user. Read from
/// <c>/proc/self/status</c> (the kernel's own account of them), which needs no call that could itself be denied.
/// </summary>
public static class ProcessPrivileges
{
    /// <summary>True if <paramref name="capability"/> is in the effective set.</summary>
    public static bool Has(Capability capability) => (Effective() & (1UL << (int)capability)) != 0;

    /// <summary>Those of <paramref name="capabilities"/> that the effective set lacks, in the order given.</summary>
    public static IReadOnlyList<Capability> Missing(params ReadOnlySpan<Capability> capabilities)
    {
        var effective = Effective();
        var missing = new List<Capability>();
        foreach (var capability in capabilities)
            if ((effective & (1UL << (int)capability)) == 0)
                missing.Add(capability);
        return missing;
    }

    /// <summary>The name of <paramref name="capability"/> as the kernel's documentation writes it, e.g. CAP_NET_ADMIN.</summary>
    public static string Name(Capability capability) => capability switch
    {
        Capability.DacOverride => "CAP_DAC_OVERRIDE",
        Capability.NetAdmin => "CAP_NET_ADMIN",
        Capability.SysAdmin => "CAP_SYS_ADMIN",
        Capability.SysResource => "CAP_SYS_RESOURCE",
        Capability.Bpf => "CAP_BPF",
        _ => $"capability {(int)capability}",
    };

    /// <summary>The effective user id.</summary>
    public static uint EffectiveUserId => LibC.Geteuid();

    /// <summary>Read once: this library never changes the process's capabilities, and writes check them more than once.</summary>
    private static readonly Lazy<ulong> s_effective = new(ReadEffective);

    private static ulong Effective() => s_effective.Value;

    private static ulong ReadEffective()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                return ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return 0;
    }
}
