using SkLookup.Bpf.Asm;

namespace SkLookup.Bpf.Features;

/// <summary>
/// What this kernel supports, each probed once (by loading or running a tiny program) and cached.
/// <see cref="Require"/> turns a missing feature into a <see cref="BpfNotSupportedException"/> naming the kernel version it needs.
/// </summary>
public static class Probe
{
    private static readonly Lazy<bool> s_skLookup = new(() => TryLoad(Returning(SkAction.Pass)) is { } program && Dispose(program));
    private static readonly Lazy<bool> s_testRun = new(ProbeTestRun);
    private static readonly Lazy<bool> s_ingressIfindex = new(() =>
        TryLoad(new Assembler().Load(Size.Word, Register.R2, Register.R1, SkLookupContext.IngressIfindex).Return(SkAction.Pass).Build("probe_ifindex")) is { } program && Dispose(program));
    private static readonly Lazy<bool> s_linkDetach = new(ProbeLinkDetach);

    /// <summary>BPF_PROG_TYPE_SK_LOOKUP (Linux 5.9).</summary>
    public static bool HasSkLookup => s_skLookup.Value;

    /// <summary>BPF_PROG_TEST_RUN for sk_lookup (Linux 5.13).</summary>
    public static bool HasSkLookupTestRun => s_testRun.Value;

    /// <summary><c>ingress_ifindex</c> in the context (Linux 5.17).</summary>
    public static bool HasIngressIfindex => s_ingressIfindex.Value;

    /// <summary>BPF_LINK_DETACH (Linux 5.9).</summary>
    public static bool HasLinkDetach => s_linkDetach.Value;

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
    }

    /// <summary>Throws <see cref="BpfNotSupportedException"/> unless the kernel has <paramref name="feature"/>.</summary>
    public static void Require(Feature feature)
    {
        var (present, name, version) = feature switch
        {
            Feature.SkLookup => (HasSkLookup, "BPF_PROG_TYPE_SK_LOOKUP", "5.9"),
            Feature.SkLookupTestRun => (HasSkLookupTestRun, "sk_lookup test runs", "5.13"),
            Feature.IngressIfindex => (HasIngressIfindex, "ingress_ifindex in struct bpf_sk_lookup", "5.17"),
            Feature.LinkDetach => (HasLinkDetach, "BPF_LINK_DETACH", "5.9"),
            _ => throw new ArgumentOutOfRangeException(nameof(feature)),
        };
        if (!present)
            throw new BpfNotSupportedException(name, version);
    }

    private static ProgramSpec Returning(SkAction verdict) => new Assembler().Return(verdict).Build("probe");

    private static BpfProgram? TryLoad(ProgramSpec spec)
    {
        try
        {
            return BpfProgram.Load(spec);
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
            var input = new SkLookupTestInput(System.Net.Sockets.ProtocolType.Tcp,
                new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1), new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 2));
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
}
