using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests.Asm;

/// <summary>The disassembler prints instructions as <c>bpftool prog dump xlated</c> does.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class DisassemblerTests
{
    [Fact]
    public void PrintsAProgramLikeBpftool()
    {
        var spec = new Assembler()
            .Mov(R6, R1)
            .Load(Size.Word, R2, R6, SkLookupContext.LocalPort)
            .JumpIf(R2, JumpOp.NotEqual, 80, "pass")
            .JumpIf32(R2, JumpOp.Greater, R3, "pass")
            .Store(Size.Word, R10, -4, 0)
            .LoadMapPointer(R1, "sockets")
            .Call(HelperFunction.MapLookupElem)
            .AtomicAdd(Size.DoubleWord, R0, 8, R1)
            .Label("pass").Return(SkAction.Pass)
            .Build("printed");

        var expected = string.Join('\n',
            "   0: (bf) r6 = r1",
            "   1: (61) r2 = *(u32 *)(r6 +60)",
            "   2: (55) if r2 != 0x50 goto pc+6",
            "   3: (2e) if w2 > w3 goto pc+5",
            "   4: (62) *(u32 *)(r10 -4) = 0",
            "   5: (18) r1 = map[sockets]",
            "   7: (85) call bpf_map_lookup_elem#1",
            "   8: (db) lock *(u64 *)(r0 +8) += r1",
            "   9: (b7) r0 = 1",
            "  10: (95) exit",
            "");
        Assert.Equal(expected, spec.Disassemble());
    }

    [Theory]
    [InlineData(HelperFunction.SkAssign, "bpf_sk_assign")]
    [InlineData(HelperFunction.SkRelease, "bpf_sk_release")]
    [InlineData(HelperFunction.GetPrandomU32, "bpf_get_prandom_u32")]
    [InlineData(HelperFunction.KtimeGetNs, "bpf_ktime_get_ns")]
    public void NamesHelpersAsTheKernelDoes(HelperFunction helper, string name) =>
        Assert.Equal(name, Disassembler.HelperName(helper));

    [Fact]
    public void PrintsByteSwapsAndLoadImm64()
    {
        var spec = new Assembler().ToBigEndian(R2, 16).LoadImm64(R1, 0x1122334455667788).Exit().Build("misc");
        var text = spec.Disassemble();
        Assert.Contains("(dc) r2 = be16 r2", text);
        Assert.Contains("(18) r1 = 0x1122334455667788", text);
    }
}
