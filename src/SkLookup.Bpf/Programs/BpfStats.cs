using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// Run-time statistics of BPF programs (<see cref="ProgramInfo.RunCount"/> and <see cref="ProgramInfo.RunTimeNs"/>),
/// which the kernel counts only while someone asks for them, because timing every run costs a little.
/// </summary>
public static class BpfStats
{
    /// <summary>BPF_STATS_RUN_TIME (<c>enum bpf_stats_type</c>): count runs and run time.</summary>
    private const uint RunTime = 0;

    /// <summary>
    /// Turns on run counts and run times for every program on the machine (BPF_ENABLE_STATS, Linux 5.8+)
    /// until the returned descriptor is disposed. Several holders may keep them on at once; the kernel
    /// counts them. Needs CAP_SYS_ADMIN.
    /// </summary>
    public static FileDescriptor Enable()
    {
        var attr = new SingleFdAttr { Value = RunTime };
        var fd = BpfSyscall.TryInvoke(BpfCommand.EnableStats, ref attr, out var errno);
        if (fd >= 0)
            return new FileDescriptor((int)fd, ownsHandle: true);
        if (errno == Errno.EINVAL)
            throw new BpfNotSupportedException("BPF_ENABLE_STATS", "5.8", errno);
        throw Errno.ToException("enable BPF run-time statistics", errno);
    }
}
