using System.Runtime.InteropServices;
using SkLookup.Bpf.Asm;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf.Features;

/// <summary>
/// Before Linux 5.11, the kernel charges the memory of every BPF map and program against the
/// owner's <c>RLIMIT_MEMLOCK</c>, whose default (64 KiB before 5.16) is far too small for the
/// dispatcher's maps; map creation then fails with EPERM. From 5.11 on, memory cgroups account for
/// it instead and the limit does not matter. Like libbpf, the eBPF core raises the limit of this
/// process to unlimited before it creates its first map or program, but only on a kernel that
/// charges memlock, and it says so in the error when the limit could not be raised.
/// </summary>
public static class MemlockLimit
{
    private const int RlimitMemlock = 8; // RLIMIT_MEMLOCK
    private const ulong Infinity = ulong.MaxValue; // RLIM_INFINITY
    private static readonly Lazy<bool> s_charges = new(ProbeCharges);
    private static readonly Lazy<string?> s_raise = new(RaiseIfCharged);

    /// <summary>
    /// True if this kernel charges BPF memory against <c>RLIMIT_MEMLOCK</c> (Linux before 5.11).
    /// Probed the way libbpf does: the helper <c>bpf_ktime_get_coarse_ns</c> arrived in the same
    /// release as memory cgroup accounting, so a kernel that accepts a program calling it does not
    /// charge memlock. If the probe cannot run (no permission), the kernel version decides.
    /// </summary>
    public static bool KernelChargesMemlock => s_charges.Value;

    /// <summary>This process's soft <c>RLIMIT_MEMLOCK</c> in bytes (<see cref="ulong.MaxValue"/> for unlimited).</summary>
    public static ulong Current => Get().Current;

    /// <summary>
    /// Raises the limit if the kernel charges memlock (once per process; later calls do nothing).
    /// Returns null on success, or why the limit could not be raised. The eBPF core calls this
    /// itself before it creates a map or loads a program.
    /// </summary>
    public static string? EnsureRaised() => s_raise.Value;

    /// <summary>
    /// What to tell a user whose map or program creation failed with EPERM, if memlock is the likely
    /// cause on this kernel; null otherwise.
    /// </summary>
    internal static string? ExplainPermissionDenied()
    {
        if (!s_charges.IsValueCreated || !KernelChargesMemlock)
            return null;
        var limit = Current;
        if (limit == Infinity)
            return null;
        var why = s_raise.IsValueCreated ? s_raise.Value : null;
        return $"this kernel (before Linux 5.11) charges BPF maps and programs against RLIMIT_MEMLOCK, which is {limit / 1024} KiB here" +
            (why is null ? "" : $" and could not be raised ({why})") +
            "; raise it (ulimit -l unlimited, or LimitMEMLOCK=infinity for a systemd service) or grant CAP_SYS_RESOURCE";
    }

    private static string? RaiseIfCharged()
    {
        if (!KernelChargesMemlock)
            return null;
        var (current, maximum) = Get();
        if (current == Infinity)
            return null;
        if (Set(Infinity, Infinity) == 0)
            return null;
        var errno = Marshal.GetLastPInvokeError();
        // Without CAP_SYS_RESOURCE the hard limit cannot grow, but the soft one can reach it.
        if (maximum > current)
            Set(maximum, maximum);
        return $"setrlimit: {Errno.Name(errno)}";
    }

    private static bool ProbeCharges()
    {
        // r0 = bpf_ktime_get_coarse_ns(); r0 = 0; exit, as a socket filter (any kernel has the type).
        ReadOnlySpan<Instruction> program =
        [
            new(OpCodes.Call, Register.R0, Register.R0, 0, 160 /* BPF_FUNC_ktime_get_coarse_ns, 5.11 */),
            new((byte)((byte)OpClass.Alu64 | (byte)AluOp.Mov), Register.R0, Register.R0, 0, 0),
            new(OpCodes.Exit, Register.R0, Register.R0, 0, 0),
        ];
        var license = "GPL\0"u8;
        unsafe
        {
            fixed (Instruction* instructions = program)
            fixed (byte* licensePointer = license)
            {
                var attr = new ProgLoadAttr
                {
                    ProgType = (uint)ProgramType.SocketFilter,
                    InsnCount = (uint)program.Length,
                    Insns = (ulong)instructions,
                    License = (ulong)licensePointer,
                };
                var fd = BpfSyscall.TryInvokeUncharged(BpfCommand.ProgLoad, ref attr, out var errno);
                if (fd >= 0)
                {
                    LibC.Close((int)fd);
                    return false;
                }
                // The verifier rejects an unknown helper with EINVAL: an older kernel.
                if (errno == Errno.EINVAL)
                    return true;
            }
        }
        return KernelVersion.Current < new Version(5, 11);
    }

    private static (ulong Current, ulong Maximum) Get()
    {
        var limit = default(LibC.Rlimit);
        return LibC.Getrlimit(RlimitMemlock, ref limit) == 0 ? (limit.Current, limit.Maximum) : (0, 0);
    }

    private static int Set(ulong current, ulong maximum)
    {
        var limit = new LibC.Rlimit { Current = current, Maximum = maximum };
        return LibC.Setrlimit(RlimitMemlock, ref limit);
    }
}
