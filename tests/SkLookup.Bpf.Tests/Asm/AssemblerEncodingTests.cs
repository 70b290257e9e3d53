using System.Runtime.InteropServices;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests.Asm;

/// <summary>The assembler emits the bytes that clang and the kernel use, resolves labels, and reports mistakes clearly.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class AssemblerEncodingTests
{
    public static TheoryData<string, Func<Assembler, Assembler>, string> Encodings => new()
    {
        { "r6 = r1", a => a.Mov(R6, R1), "bf16000000000000" },
        { "r0 = 1", a => a.Mov(R0, 1), "b700000001000000" },
        { "w1 = w2", a => a.Mov32(R1, R2), "bc21000000000000" },
        { "r2 += -4", a => a.Add(R2, -4), "07020000fcffffff" },
        { "w1 += 5", a => a.Alu32(AluOp.Add, R1, 5), "0401000005000000" },
        { "r1 *= r2", a => a.Alu(AluOp.Mul, R1, R2), "2f21000000000000" },
        { "w1 &= 0xffff", a => a.Alu32(AluOp.And, R1, 0xffff), "54010000ffff0000" },
        { "r1 >>= 48", a => a.Alu(AluOp.RightShift, R1, 48), "7701000030000000" },
        { "r1 s>>= 3", a => a.Alu(AluOp.ArithmeticRightShift, R1, 3), "c701000003000000" },
        { "r3 = -r3", a => a.Negate(R3), "8703000000000000" },
        { "r2 = be16 r2", a => a.ToBigEndian(R2, 16), "dc02000010000000" },
        { "r2 = le32 r2", a => a.ToLittleEndian(R2, 32), "d402000020000000" },
        { "r2 = *(u32 *)(r6 +60)", a => a.Load(Size.Word, R2, R6, 60), "61623c0000000000" },
        { "r2 = *(u16 *)(r1 +36)", a => a.Load(Size.Half, R2, R1, 36), "6912240000000000" },
        { "r2 = *(u8 *)(r1 +8)", a => a.Load(Size.Byte, R2, R1, 8), "7112080000000000" },
        { "r1 = *(u64 *)(r9 +8)", a => a.Load(Size.DoubleWord, R1, R9, 8), "7991080000000000" },
        { "*(u32 *)(r10 -4) = 0", a => a.Store(Size.Word, R10, -4, 0), "620afcff00000000" },
        { "*(u64 *)(r10 -8) = r1", a => a.Store(Size.DoubleWord, R10, -8, R1), "7b1af8ff00000000" },
        { "*(u16 *)(r10 -2) = r3", a => a.Store(Size.Half, R10, -2, R3), "6b3afeff00000000" },
        { "*(u8 *)(r10 -1) = 7", a => a.Store(Size.Byte, R10, -1, 7), "720affff07000000" },
        { "lock *(u64 *)(r9 +0) += r1", a => a.AtomicAdd(Size.DoubleWord, R9, 0, R1), "db19000000000000" },
        { "lock *(u32 *)(r9 +4) += r1", a => a.AtomicAdd(Size.Word, R9, 4, R1), "c319040000000000" },
        { "call bpf_map_lookup_elem", a => a.Call(HelperFunction.MapLookupElem), "8500000001000000" },
        { "call bpf_sk_assign", a => a.Call(HelperFunction.SkAssign), "850000007c000000" },
        { "exit", a => a.Exit(), "9500000000000000" },
        { "r1 = 0x1122334455667788", a => a.LoadImm64(R1, 0x1122334455667788), "1801000088776655" + "0000000044332211" },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void EncodesLikeTheKernelHeaders(string what, Func<Assembler, Assembler> emit, string hex)
    {
        var spec = emit(new Assembler()).Build("encoding");
        var bytes = MemoryMarshal.AsBytes(spec.Instructions.ToArray().AsSpan()).ToArray();
        Assert.True(hex == Convert.ToHexStringLower(bytes), $"{what}: got {Convert.ToHexStringLower(bytes)}");
    }

    [Fact]
    public void AssignSocketIsTheRedirectTailWrittenOut()
    {
        var tail = new Assembler().AssignSocket(R6, R7, R8, "drop").Label("drop").Return(SkAction.Drop).Build("tail");
        var written = new Assembler()
            .Mov(R7, R0)
            .Mov(R1, R6).Mov(R2, R7).Mov(R3, 0).Call(HelperFunction.SkAssign)
            .Mov(R8, R0)
            .Mov(R1, R7).Call(HelperFunction.SkRelease)
            .JumpIf(R8, JumpOp.NotEqual, 0, "drop")
            .Label("drop").Return(SkAction.Drop)
            .Build("tail");
        Assert.Equal(written.Instructions, tail.Instructions);
    }

    [Fact]
    public void ResolvesForwardAndBackwardJumpsAndCalls()
    {
        var spec = new Assembler()
            .Mov(R0, 0)                                   // 0
            .Label("top")
            .JumpIf(R0, JumpOp.Equal, 3, "done")          // 1: to 5 → +3
            .Add(R0, 1)                                   // 2
            .Call("function")                             // 3: to 7 → +3
            .Jump("top")                                  // 4: to 1 → -4
            .Label("done").Return(SkAction.Pass)          // 5, 6
            .Label("function").Mov(R0, 0).Exit()          // 7, 8
            .Build("jumps");

        Assert.Equal(3, spec.Instructions[1].Offset);
        Assert.Equal(3, spec.Instructions[3].Immediate);
        Assert.True(spec.Instructions[3].IsFunctionCall);
        Assert.Equal(-4, spec.Instructions[4].Offset);
    }

    [Fact]
    public void RecordsMapReferencesOnTheirLoadInstruction()
    {
        var spec = new Assembler().Mov(R0, 1).LoadMapPointer(R1, "sockets").LoadMapValue(R2, ".data", 12).Exit().Build("refs");

        Assert.Equal([new MapReference(1, "sockets"), new MapReference(3, ".data", 12, IsValue: true)], spec.MapReferences);
        Assert.True(spec.Instructions[1].IsLoadImm64);
        Assert.Equal(12, spec.Instructions[4].Immediate);
    }

    [Fact]
    public void UndefinedLabelNamesTheLabelAndTheInstruction()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new Assembler().Mov(R0, 1).Jump("nowhere").Exit().Build("broken"));
        Assert.Contains("'nowhere'", error.Message);
        Assert.Contains("instruction 1", error.Message);
    }

    [Fact]
    public void DuplicateLabelIsRefused()
    {
        var asm = new Assembler().Label("twice").Mov(R0, 1);
        Assert.Throws<InvalidOperationException>(() => asm.Label("twice"));
    }

    [Fact]
    public void LabelAtTheEndIsRefused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new Assembler().Jump("end").Label("end").Build("broken"));
        Assert.Contains("end of the program", error.Message);
    }

    [Fact]
    public void InvalidOperandsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Assembler().JumpIf(R0, JumpOp.Exit, 0, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Assembler().ToBigEndian(R1, 24));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Assembler().AtomicAdd(Size.Byte, R1, 0, R2));
    }
}
