using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SkLookup.Bpf.Asm;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf.Features;

/// <summary>
/// What this kernel supports, each probed once (by loading or running a tiny program, or by calling
/// the system call) and cached. <see cref="Require"/> turns a missing feature into a
/// <see cref="BpfNotSupportedException"/> naming the kernel version it needs, and <see cref="All"/>
/// lists every feature for a report. Probes never trust the version number, because distributions
/// backport features (Debian's 5.10 has sk_lookup test runs, which arrived upstream in 5.13); the
/// version decides only where a probe cannot run.
/// </summary>
public static class Probe
{
    private static readonly Lazy<bool> s_skLookup = new(() => TryLoad(Returning(SkAction.Pass)) is { } program && Dispose(program));
    private static readonly Lazy<bool> s_testRun = new(ProbeTestRun);
    private static readonly Lazy<bool> s_ingressIfindex = new(() =>
        TryLoad(new Assembler().Load(Size.Word, Register.R2, Register.R1, SkLookupContext.IngressIfindex).Return(SkAction.Pass).Build("probe_ifindex")) is { } program && Dispose(program));
    private static readonly Lazy<bool> s_linkDetach = new(ProbeLinkDetach);
    private static readonly Lazy<bool> s_narrowRemotePort = new(ProbeNarrowRemotePort);
    private static readonly Lazy<bool> s_sha256Tags = new(ProbeSha256Tags);
    private static readonly Lazy<bool> s_batch = new(ProbeBatch);
    private static readonly Lazy<bool> s_pidfdOpen = new(() => ProbePidfd().Open);
    private static readonly Lazy<bool> s_pidfdGetfd = new(() => ProbePidfd().GetFd);

    /// <summary>BPF_PROG_TYPE_SK_LOOKUP (Linux 5.9).</summary>
    public static bool HasSkLookup => s_skLookup.Value;

    /// <summary>BPF_PROG_TEST_RUN for sk_lookup (Linux 5.13).</summary>
    public static bool HasSkLookupTestRun => s_testRun.Value;

    /// <summary><c>ingress_ifindex</c> in the context (Linux 5.17).</summary>
    public static bool HasIngressIfindex => s_ingressIfindex.Value;

    /// <summary>BPF_LINK_DETACH (Linux 5.9).</summary>
    public static bool HasLinkDetach => s_linkDetach.Value;

    /// <summary>
    /// <c>remote_port</c> as a 16-bit field followed by zero padding (Linux 5.18). Before, a 2-byte load of
    /// the padding (offset 38) returned the port again. Seen through a test run; without test runs, by version.
    /// </summary>
    public static bool HasNarrowRemotePort => s_narrowRemotePort.Value;

    /// <summary>Program tags are the first 8 bytes of SHA-256 (Linux 6.18); SHA-1 before.</summary>
    public static bool HasSha256ProgramTags => s_sha256Tags.Value;

    /// <summary>BPF_MAP_LOOKUP_BATCH and its siblings on hash maps (Linux 5.6).</summary>
    public static bool HasBatchOperations => s_batch.Value;

    /// <summary>Memory cgroups account for BPF memory, so RLIMIT_MEMLOCK does not limit maps (Linux 5.11).</summary>
    public static bool HasMemcgAccounting => !MemlockLimit.KernelChargesMemlock;

    /// <summary><c>pidfd_open(2)</c> (Linux 5.3).</summary>
    public static bool HasPidfdOpen => s_pidfdOpen.Value;

    /// <summary><c>pidfd_getfd(2)</c> (Linux 5.6), which <c>register-pid</c> uses to take another process's socket.</summary>
    public static bool HasPidfdGetfd => s_pidfdGetfd.Value;

    /// <summary>The features that <see cref="Require"/> knows, with the Linux version that brought each.</summary>
    public enum Feature
    {
        /// <summary>The program type (5.9).</summary>
        SkLookup,
        /// <summary>Test runs (5.13).</summary>
        SkLookupTestRun,
        /// <summary>ingress_ifindex (5.17).</summary>
        IngressIfindex,
        /// <summary>BPF_LINK_DETACH (5.9).</summary>
        LinkDetach,
        /// <summary>remote_port as a 16-bit field (5.18).</summary>
        NarrowRemotePort,
        /// <summary>SHA-256 program tags (6.18).</summary>
        Sha256ProgramTags,
        /// <summary>Batch map operations (5.6).</summary>
        BatchOperations,
        /// <summary>Memory cgroup accounting instead of RLIMIT_MEMLOCK (5.11).</summary>
        MemcgAccounting,
        /// <summary>pidfd_open (5.3).</summary>
        PidfdOpen,
        /// <summary>pidfd_getfd (5.6).</summary>
        PidfdGetfd,
    }

    /// <summary>True if the kernel has <paramref name="feature"/>.</summary>
    public static bool Has(Feature feature) => Describe(feature).Present();

    /// <summary>Throws <see cref="BpfNotSupportedException"/> unless the kernel has <paramref name="feature"/>.</summary>
    public static void Require(Feature feature)
    {
        var (name, version, present) = Describe(feature);
        if (!present())
            throw new BpfNotSupportedException(name, version);
    }

    /// <summary>The exception <see cref="Require"/> throws for <paramref name="feature"/>, whether or not the kernel has it.</summary>
    public static BpfNotSupportedException NotSupported(Feature feature, int errno = 0)
    {
        var (name, version, _) = Describe(feature);
        return new BpfNotSupportedException(name, version, errno);
    }

    /// <summary>
    /// Every feature, probed, in the order of <see cref="Feature"/>. A feature that this process may not
    /// probe (without CAP_BPF) is listed with <see cref="KernelFeature.Present"/> null instead of failing.
    /// </summary>
    public static IReadOnlyList<KernelFeature> All()
    {
        var features = Enum.GetValues<Feature>();
        var result = new KernelFeature[features.Length];
        for (var i = 0; i < features.Length; i++)
        {
            var (name, version, present) = Describe(features[i]);
            bool? found;
            try
            {
                found = present();
            }
            catch (BpfException exception) when (exception.Reason is BpfErrorReason.PermissionDenied)
            {
                found = null;
            }
            result[i] = new KernelFeature(features[i], name, version, found);
        }
        return result;
    }

    private static (string Name, string Version, Func<bool> Present) Describe(Feature feature) => feature switch
    {
        Feature.SkLookup => ("BPF_PROG_TYPE_SK_LOOKUP", "5.9", () => HasSkLookup),
        Feature.SkLookupTestRun => ("sk_lookup test runs", "5.13", () => HasSkLookupTestRun),
        Feature.IngressIfindex => ("ingress_ifindex in struct bpf_sk_lookup", "5.17", () => HasIngressIfindex),
        Feature.LinkDetach => ("BPF_LINK_DETACH", "5.9", () => HasLinkDetach),
        Feature.NarrowRemotePort => ("remote_port as a 16-bit field of struct bpf_sk_lookup", "5.18", () => HasNarrowRemotePort),
        Feature.Sha256ProgramTags => ("SHA-256 program tags", "6.18", () => HasSha256ProgramTags),
        Feature.BatchOperations => ("batch map operations (BPF_MAP_*_BATCH)", "5.6", () => HasBatchOperations),
        Feature.MemcgAccounting => ("memory cgroup accounting of BPF memory", "5.11", () => HasMemcgAccounting),
        Feature.PidfdOpen => ("pidfd_open", "5.3", () => HasPidfdOpen),
        Feature.PidfdGetfd => ("pidfd_getfd", "5.6", () => HasPidfdGetfd),
        _ => throw new ArgumentOutOfRangeException(nameof(feature)),
    };

    private static ProgramSpec Returning(SkAction verdict) => new Assembler().Return(verdict).Build("probe");

    private static BpfProgram? TryLoad(ProgramSpec spec)
    {
        try
        {
            return BpfProgram.LoadForProbe(spec);
        }
        catch (BpfException exception) when (exception.Reason is not BpfErrorReason.PermissionDenied)
        {
            return null;
        }
    }

    private static bool Dispose(IDisposable disposable)
    {
        disposable.Dispose();
        return true;
    }

    private static bool ProbeTestRun()
    {
        using var program = TryLoad(Returning(SkAction.Pass));
        if (program is null)
            return false;
        try
        {
            var input = new SkLookupTestInput(ProtocolType.Tcp, new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.Loopback, 2));
            return program.TestRun(input).Verdict == SkAction.Pass;
        }
        catch (BpfException exception) when (exception.Reason is BpfErrorReason.NotSupported or BpfErrorReason.InvalidArgument)
        {
            return false;
        }
    }

    private static bool ProbeLinkDetach()
    {
        // Detaching a link in a namespace of our own proves the command exists without touching the host's.
        using var program = TryLoad(Returning(SkAction.Pass));
        if (program is null)
            return false;
        using var netns = NetworkNamespace.CreatePrivate();
        using var link = NetNsLink.Attach(program, netns);
        try
        {
            link.Detach();
            return true;
        }
        catch (BpfException exception) when (exception.Reason is BpfErrorReason.InvalidArgument or BpfErrorReason.NotSupported)
        {
            return false;
        }
    }

    private static bool ProbeNarrowRemotePort()
    {
        if (!HasSkLookupTestRun)
            return KernelVersion.Current >= new Version(5, 18);
        // PASS if the 2-byte load of the padding after remote_port reads 0, DROP if it reads the port again.
        var spec = new Assembler()
            .Load(Size.Half, Register.R2, Register.R1, (short)(SkLookupContext.RemotePort + 2))
            .JumpIf(Register.R2, JumpOp.Equal, 0, "narrow")
            .Return(SkAction.Drop)
            .Label("narrow").Return(SkAction.Pass)
            .Build("probe_rport");
        using var program = TryLoad(spec);
        if (program is null)
            return false;
        var input = new SkLookupTestInput(ProtocolType.Tcp, new IPEndPoint(IPAddress.Loopback, 12345), new IPEndPoint(IPAddress.Loopback, 80));
        return program.TestRun(input).Verdict == SkAction.Pass;
    }

    private static bool ProbeSha256Tags()
    {
        // The kernel hashes the instructions as given (no map references here): compare its tag with both digests.
        var spec = new Assembler().Mov(Register.R0, 0).Exit().Build("probe_tag", ProgramType.SocketFilter, AttachType.None);
        using var program = TryLoad(spec);
        if (program is null)
            return KernelVersion.Current >= new Version(6, 18);
        var bytes = MemoryMarshal.AsBytes(spec.Instructions.ToArray().AsSpan());
        return string.Equals(program.Info.Tag, Convert.ToHexStringLower(ShaDigest.Sha256(bytes).AsSpan(0, 8)), StringComparison.OrdinalIgnoreCase);
    }

    private static unsafe bool ProbeBatch()
    {
        BpfMap map;
        try
        {
            map = BpfMap.Create(new MapSpec { Name = "probe_batch", Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
        }
        catch (BpfException exception) when (exception.Reason is not BpfErrorReason.PermissionDenied)
        {
            return false;
        }
        using (map)
        {
            uint key = 0, value = 0;
            ulong token = 0;
            var attr = new MapBatchAttr { OutBatch = (ulong)&token, Keys = (ulong)&key, Values = (ulong)&value, Count = 1, MapFd = (uint)map.Handle.Value };
            // An empty map answers ENOENT (the walk is done); a kernel without the command says EINVAL.
            return BpfSyscall.TryInvoke(BpfCommand.MapLookupBatch, ref attr, out var errno) >= 0 || errno == Errno.ENOENT;
        }
    }

    private static (bool Open, bool GetFd) ProbePidfd()
    {
        var pidfd = LibC.Syscall(LibC.SYS_pidfd_open, Environment.ProcessId, 0, 0);
        if (pidfd < 0)
            return (Marshal.GetLastPInvokeError() != LibC.ENOSYS, false);
        try
        {
            // Asking for fd -1 fails with EBADF where the call exists, ENOSYS where it does not.
            var copy = LibC.Syscall(LibC.SYS_pidfd_getfd, pidfd, -1, 0);
            if (copy >= 0)
                LibC.Close((int)copy);
            return (true, copy >= 0 || Marshal.GetLastPInvokeError() != LibC.ENOSYS);
        }
        finally
        {
            LibC.Close((int)pidfd);
        }
    }
}
