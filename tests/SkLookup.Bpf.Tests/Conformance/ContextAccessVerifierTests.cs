using SkLookup.Bpf.Asm;
using SkLookup.Bpf.Features;
using SkLookup.TestKit;
using static SkLookup.Bpf.Asm.Register;
using Ctx = SkLookup.Bpf.Asm.SkLookupContext;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// The kernel's verifier tests for the sk_lookup context (<c>verifier/ctx_sk_lookup.c</c>): which loads
/// from <c>struct bpf_sk_lookup</c> the verifier allows, and that it refuses every other load and every
/// store with "invalid bpf_context access off=OFF size=SIZE".
/// </summary>
public sealed class ContextAccessVerifierTests
{
    /// <summary>One program: its instructions (before <c>r0 = 0; exit</c>) and the verifier's expected answer.</summary>
    /// <param name="Name">What the program does.</param>
    /// <param name="Body">The instructions under test; R1 holds the context.</param>
    /// <param name="Rejection">The text the verifier log must contain, or null if the program must load.</param>
    /// <param name="OlderRejection">The text an older verifier logs instead, if it words the rejection differently.</param>
    /// <param name="Requires">The kernel feature the case reads, if any: without it the test skips.</param>
    public sealed record Case(string Name, Action<Assembler> Body, string? Rejection, string? OlderRejection = null, Probe.Feature? Requires = null);

    /// <summary>Every case.</summary>
    public static IReadOnlyList<Case> Cases { get; } = BuildCases();

    /// <summary>The names of the cases that must load.</summary>
    public static TheoryData<string> Accepted => Names(accepted: true);

    /// <summary>The names of the cases that must be rejected.</summary>
    public static TheoryData<string> Rejected => Names(accepted: false);

    [SkippableTheory]
    [MemberData(nameof(Accepted))]
    public void VerifierAccepts(string name)
    {
        var @case = Cases.Single(c => c.Name == name);
        if (@case.Requires is { } feature)
            KernelRequirement.Require(feature);

        using var program = BpfProgram.Load(Build(@case));

        Assert.Equal(ProgramType.SkLookup, program.Info.Type);
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void VerifierRejects(string name)
    {
        var @case = Cases.Single(c => c.Name == name);

        var rejection = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(Build(@case)).Dispose());

        Assert.Equal(Errno.EACCES, rejection.Errno);
        Assert.Equal(BpfErrorReason.VerifierRejected, rejection.Reason);
        Assert.True(rejection.Log.Contains(@case.Rejection!, StringComparison.Ordinal) ||
            (@case.OlderRejection is { } older && rejection.Log.Contains(older, StringComparison.Ordinal)), rejection.Log);
    }

    /// <summary>
    /// A read of <c>ingress_ifindex</c> loads from Linux 5.17 on. Before, the context ends at offset 64: the
    /// read is refused, and the loader says which kernel has the field instead of passing the verifier's
    /// complaint on.
    /// </summary>
    [Fact]
    public void ReadOfIngressIfindexLoadsOrNamesTheKernelThatHasIt()
    {
        var spec = Build(Cases.Single(c => c.Name == "valid 4-byte reads from ingress_ifindex"));
        if (Probe.HasIngressIfindex)
        {
            BpfProgram.Load(spec).Dispose();
            return;
        }

        var error = Assert.Throws<BpfNotSupportedException>(() => BpfProgram.Load(spec).Dispose());

        Assert.Equal("5.17", error.MinimumKernel);
        Assert.Equal(Errno.EACCES, error.Errno);
        Assert.Contains("ingress_ifindex", error.Message);
        Assert.Contains("'ctx_access'", error.Message);
        Assert.EndsWith("needs Linux 5.17 or later", error.Message);
    }

    /// <summary>
    /// Beyond the kernel's cases: every read of 1, 2, 4 or 8 bytes at every offset from -4 to 75 is accepted
    /// exactly when <see cref="ReadAllowed"/> says so, and every rejection names its offset and size.
    /// </summary>
    [Fact]
    public void EveryReadFollowsTheRule()
    {
        var wrongMessages = new List<string>();
        foreach (var size in new[] { 1, 2, 4, 8 })
        {
            var expected = new System.Text.StringBuilder();
            var actual = new System.Text.StringBuilder();
            for (var offset = -4; offset < Ctx.Size + 4; offset++)
            {
                var spec = Build(new Case("read", Loads(SizeOf(size), offset), null));
                expected.Append(ReadAllowed(offset, size) ? 'A' : 'R');
                try
                {
                    BpfProgram.Load(spec).Dispose();
                    actual.Append('A');
                }
                catch (BpfVerifierException rejection)
                {
                    actual.Append('R');
                    if (!rejection.Log.Contains(Invalid(offset, size), StringComparison.Ordinal))
                        wrongMessages.Add($"off={offset} size={size}: {rejection.Log}");
                }
                catch (BpfNotSupportedException missing) when (!Probe.HasIngressIfindex && offset is >= Ctx.IngressIfindex and < Ctx.IngressIfindex + 4)
                {
                    actual.Append('R'); // A read of ingress_ifindex where the kernel has none.
                    if (missing.MinimumKernel != "5.17")
                        wrongMessages.Add($"off={offset} size={size}: {missing.Message}");
                }
            }
            Assert.Equal($"size {size}: {expected}", $"size {size}: {actual}");
        }
        Assert.Empty(wrongMessages);
    }

    /// <summary>
    /// The kernel's rule for a read of <paramref name="size"/> bytes at <paramref name="offset"/>:
    /// inside the context and aligned to its size; only an 8-byte load of <c>sk</c>; 1, 2 or 4 bytes of a u32
    /// field; 1 or 2 bytes of <c>remote_port</c> or of its padding, or 4 bytes at <c>remote_port</c> for older
    /// programs; nothing in the tail padding. The verifier allows the same loads at <c>remote_port</c> before
    /// 5.18, when it was a u32 (only what the padding reads changed). Before 5.17 the context ends where
    /// <c>ingress_ifindex</c> begins.
    /// </summary>
    private static bool ReadAllowed(int offset, int size)
    {
        if (offset < 0 || offset >= Ctx.Size || offset % size != 0)
            return false;
        if (offset < Ctx.Family)
            return offset == Ctx.Socket && size == 8;
        if (offset is >= Ctx.RemotePort and < Ctx.RemotePort + 2)
            return size is 1 or 2 || (size == 4 && offset == Ctx.RemotePort);
        if (offset is >= Ctx.RemotePort + 2 and < Ctx.LocalIp4)
            return size is 1 or 2;
        if (offset >= Ctx.IngressIfindex + (Probe.HasIngressIfindex ? 4 : 0))
            return false;
        return size is 1 or 2 or 4;
    }

    private static Size SizeOf(int bytes) => bytes switch
    {
        1 => Size.Byte,
        2 => Size.Half,
        4 => Size.Word,
        _ => Size.DoubleWord,
    };

    private static ProgramSpec Build(Case @case)
    {
        var asm = new Assembler();
        @case.Body(asm);
        return asm.Mov32(R0, 0).Exit().Build("ctx_access");
    }

    private static TheoryData<string> Names(bool accepted)
    {
        var data = new TheoryData<string>();
        foreach (var @case in Cases)
        {
            if ((@case.Rejection is null) == accepted)
                data.Add(@case.Name);
        }
        return data;
    }

    private static string Invalid(int offset, int size) => $"invalid bpf_context access off={offset} size={size}";

    private static Action<Assembler> Loads(Size size, params int[] offsets) => asm =>
    {
        foreach (var offset in offsets)
            asm.Load(size, R0, R1, (short)offset);
    };

    private static List<Case> BuildCases()
    {
        var cases = new List<Case>();

        // Allowed: every aligned 1-, 2- and 4-byte load inside a u32 field.
        var wordFields = new (string Name, int Offset, int Words)[]
        {
            ("family", Ctx.Family, 1), ("protocol", Ctx.Protocol, 1), ("remote_ip4", Ctx.RemoteIp4, 1),
            ("remote_ip6", Ctx.RemoteIp6, 4), ("local_ip4", Ctx.LocalIp4, 1), ("local_ip6", Ctx.LocalIp6, 4),
            ("local_port", Ctx.LocalPort, 1), ("ingress_ifindex", Ctx.IngressIfindex, 1),
        };
        foreach (var (name, offset, words) in wordFields)
        {
            Probe.Feature? requires = offset == Ctx.IngressIfindex ? Probe.Feature.IngressIfindex : null;
            cases.Add(new($"valid 1-byte reads from {name}", Loads(Size.Byte, Enumerable.Range(offset, 4 * words).ToArray()), null, Requires: requires));
            cases.Add(new($"valid 2-byte reads from {name}", Loads(Size.Half, Enumerable.Range(0, 2 * words).Select(i => offset + 2 * i).ToArray()), null, Requires: requires));
            cases.Add(new($"valid 4-byte reads from {name}", Loads(Size.Word, Enumerable.Range(0, words).Select(i => offset + 4 * i).ToArray()), null, Requires: requires));
        }
        // remote_port is a __be16 (5.18+): narrow loads of it, a 4-byte load for older programs, and its zero padding.
        cases.Add(new("valid 1-byte reads from remote_port", Loads(Size.Byte, Ctx.RemotePort, Ctx.RemotePort + 1), null));
        cases.Add(new("valid 2-byte read from remote_port", Loads(Size.Half, Ctx.RemotePort), null));
        cases.Add(new("valid 4-byte read from remote_port (backward compatible)", Loads(Size.Word, Ctx.RemotePort), null));
        cases.Add(new("valid 1-byte reads from the padding after remote_port", Loads(Size.Byte, Ctx.RemotePort + 2, Ctx.RemotePort + 3), null));
        cases.Add(new("valid 2-byte read from the padding after remote_port", Loads(Size.Half, Ctx.RemotePort + 2), null));
        cases.Add(new("valid 8-byte read from sk", Loads(Size.DoubleWord, Ctx.Socket), null));

        // The kernel's own case holds every one of those loads in one program.
        var allValid = cases.ToArray();
        cases.Insert(0, new("valid 1,2,4,8-byte reads from bpf_sk_lookup", asm =>
        {
            foreach (var valid in allValid)
                valid.Body(asm);
        }, null, Requires: Probe.Feature.IngressIfindex));

        // Rejected: 8-byte loads of 4-byte fields.
        foreach (var (name, offset) in new (string, int)[]
        {
            ("family", Ctx.Family), ("protocol", Ctx.Protocol), ("remote_ip4", Ctx.RemoteIp4), ("remote_ip6", Ctx.RemoteIp6),
            ("remote_ip6[2]", Ctx.RemoteIp6 + 8), ("remote_port", Ctx.RemotePort), ("local_ip4", Ctx.LocalIp4),
            ("local_ip6", Ctx.LocalIp6), ("local_ip6[2]", Ctx.LocalIp6 + 8), ("local_port", Ctx.LocalPort),
            ("ingress_ifindex", Ctx.IngressIfindex),
        })
        {
            cases.Add(new($"invalid 8-byte read from {name}", Loads(Size.DoubleWord, offset), Invalid(offset, 8)));
        }

        // Rejected: anything but an 8-byte load of sk.
        cases.Add(new("invalid 4-byte read from sk", Loads(Size.Word, Ctx.Socket), Invalid(Ctx.Socket, 4)));
        cases.Add(new("invalid 4-byte read from the upper half of sk", Loads(Size.Word, Ctx.Socket + 4), Invalid(Ctx.Socket + 4, 4)));
        cases.Add(new("invalid 2-byte read from sk", Loads(Size.Half, Ctx.Socket), Invalid(Ctx.Socket, 2)));
        cases.Add(new("invalid 1-byte read from sk", Loads(Size.Byte, Ctx.Socket), Invalid(Ctx.Socket, 1)));

        // Rejected: out of bounds and unaligned.
        cases.Add(new("invalid 4-byte read past the end", Loads(Size.Word, Ctx.Size), Invalid(Ctx.Size, 4)));
        cases.Add(new("invalid 4-byte read of the tail padding", Loads(Size.Word, Ctx.IngressIfindex + 4), Invalid(Ctx.IngressIfindex + 4, 4)));
        cases.Add(new("invalid 4-byte read before the start", Loads(Size.Word, -4), Invalid(-4, 4)));
        cases.Add(new("invalid 4-byte unaligned read at an odd offset", Loads(Size.Word, 1), Invalid(1, 4)));
        cases.Add(new("invalid 4-byte unaligned read at an even offset", Loads(Size.Word, 2), Invalid(2, 4)));
        cases.Add(new("invalid 2-byte unaligned read inside family", Loads(Size.Half, Ctx.Family + 1), Invalid(Ctx.Family + 1, 2)));
        cases.Add(new("invalid 4-byte unaligned read from the padding after remote_port", Loads(Size.Word, Ctx.RemotePort + 2), Invalid(Ctx.RemotePort + 2, 4)));

        // Rejected: every store from a register, in bounds or not.
        foreach (var (size, bytes) in new[] { (Size.DoubleWord, 8), (Size.Word, 4), (Size.Half, 2), (Size.Byte, 1) })
        {
            cases.Add(new($"invalid {bytes}-byte write to sk", asm => asm.Mov(R0, 0x4a11).Store(size, R1, Ctx.Socket, R0), Invalid(Ctx.Socket, bytes)));
        }
        cases.Add(new("invalid 4-byte write to family", asm => asm.Mov(R0, 0x4a11).Store(Size.Word, R1, Ctx.Family, R0), Invalid(Ctx.Family, 4)));
        cases.Add(new("invalid 4-byte write past the end", asm => asm.Mov(R0, 0x4a11).Store(Size.Word, R1, Ctx.Size, R0), Invalid(Ctx.Size, 4)));

        // Rejected: a store of an immediate goes through the same check (older kernels, 5.10 among them, refused
        // it earlier, with "BPF_ST stores into R1 ctx is not allowed"); an atomic update is refused before the
        // context check (worded "BPF_XADD" before 5.12 brought the other atomic operations).
        cases.Add(new("invalid 4-byte immediate write to local_port", asm => asm.Store(Size.Word, R1, Ctx.LocalPort, 80), Invalid(Ctx.LocalPort, 4),
            "BPF_ST stores into R1 ctx is not allowed"));
        cases.Add(new("invalid atomic add to local_port", asm => asm.Mov(R0, 1).AtomicAdd(Size.Word, R1, Ctx.LocalPort, R0), "BPF_ATOMIC stores into R1 ctx is not allowed",
            "BPF_XADD stores into R1 ctx is not allowed"));
        return cases;
    }
}
