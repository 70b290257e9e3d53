namespace SkLookup.Bpf;

/// <summary>The Linux capabilities that BPF and sk_lookup work depends on, by their numbers in <c>linux/capability.h</c>.</summary>
public enum Capability
{
    /// <summary>CAP_DAC_OVERRIDE: write files whatever their modes say.</summary>
    DacOverride = 1,

    /// <summary>CAP_NET_ADMIN: attach to a network namespace, create SOCKMAPs, load networking program types.</summary>
    NetAdmin = 12,

    /// <summary>CAP_SYS_ADMIN: open BPF objects by id, and everything CAP_BPF grants on kernels before 5.8.</summary>
    SysAdmin = 21,

    /// <summary>CAP_SYS_RESOURCE: raise RLIMIT_MEMLOCK, which kernels before 5.11 charge maps against.</summary>
    SysResource = 24,

    /// <summary>CAP_BPF (Linux 5.8): create maps and load programs.</summary>
    Bpf = 39,
}
