using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests.Asm;

/// <summary>
/// Programs built with the assembler, verified and run by the kernel (JIT included): each check computes
/// a value and returns SK_DROP if it is wrong, so a test run's verdict says whether every instruction
/// did what its name says.
/// </summary>
public sealed class AssemblerExecutionTests
{
    private static readonly SkLookupTestInput AnyLookup =
        new(ProtocolType.Tcp, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1234), new IPEndPoint(IPAddress.Parse("192.0.2.2"), 80));

    private static int s_check;

    /// <summary>if (r != expected) return SK_DROP;</summary>
    private static Assembler Expect(Assembler asm, Register register, long expected)
    {
        var ok = $"ok_{Interlocked.Increment(ref s_check)}";
        asm.LoadImm64(R9, expected).JumpIf(register, JumpOp.Equal, R9, ok).Return(SkAction.Drop).Label(ok);
        return asm;
    }

    private static SkAction Run(Assembler asm, IReadOnlyDictionary<string, BpfMap>? maps = null)
    {
        using var program = BpfProgram.Load(asm.Return(SkAction.Pass).Build("selfcheck"), maps);
        return program.TestRun(AnyLookup).Verdict;
    }

    [Theory]
    [InlineData(AluOp.Add, 7, 5, 12)]
    [InlineData(AluOp.Sub, 7, 5, 2)]
    [InlineData(AluOp.Sub, 5, 7, -2)]
    [InlineData(AluOp.Mul, -7, 5, -35)]
    [InlineData(AluOp.Div, 37, 5, 7)]
    [InlineData(AluOp.Mod, 37, 5, 2)]
    [InlineData(AluOp.Or, 0x0f, 0xf0, 0xff)]
    [InlineData(AluOp.And, 0x3c, 0x0f, 0x0c)]
    [InlineData(AluOp.Xor, 0xff, 0x0f, 0xf0)]
    [InlineData(AluOp.LeftShift, 1, 40, 1L << 40)]
    [InlineData(AluOp.RightShift, -16, 60, 0xf)]
    [InlineData(AluOp.ArithmeticRightShift, -16, 2, -4)]
    [InlineData(AluOp.Mov, 1, -9, -9)]
    public void Alu64OperationsComputeWhatTheyName(AluOp op, int left, int right, long expected)
    {
        var immediate = new Assembler().Mov(R1, left).Alu(op, R1, right);
        Expect(immediate, R1, expected);
        var register = new Assembler().Mov(R1, left).Mov(R2, right).Alu(op, R1, R2);
        Expect(register, R1, expected);
        Assert.Equal(SkAction.Pass, Run(immediate));
        Assert.Equal(SkAction.Pass, Run(register));
    }

    [Theory]
    [InlineData(AluOp.Add, -1, 2, 1)]               // wraps at 32 bits, upper half cleared
    [InlineData(AluOp.Sub, 0, 1, 0xffffffff)]
    [InlineData(AluOp.Mul, 0x10000, 0x10000, 0)]
    [InlineData(AluOp.RightShift, -1, 28, 0xf)]
    [InlineData(AluOp.ArithmeticRightShift, -16, 2, 0xfffffffc)]
    [InlineData(AluOp.Mov, 1, -1, 0xffffffff)]
    public void Alu32OperationsWorkOnTheLowHalfAndZeroTheHighHalf(AluOp op, int left, int right, long expected)
    {
        var asm = new Assembler().LoadImm64(R1, unchecked((long)0xdeadbeef00000000) | (uint)left).Alu32(op, R1, right);
        Expect(asm, R1, expected);
        Assert.Equal(SkAction.Pass, Run(asm));
    }

    [Fact]
    public void NegateAndByteSwapsCompute()
    {
        var asm = new Assembler().Mov(R1, 5).Negate(R1);
        Expect(asm, R1, -5);
        asm.Mov(R2, 0x1234).ToBigEndian(R2, 16);
        Expect(asm, R2, 0x3412);
        asm.Mov32(R3, 0x11223344).ToBigEndian(R3, 32);
        Expect(asm, R3, 0x44332211);
        asm.LoadImm64(R4, 0x0102030405060708).ToBigEndian(R4, 64);
        Expect(asm, R4, 0x0807060504030201);
        asm.LoadImm64(R5, 0x0102030405060708).ToLittleEndian(R5, 16);
        Expect(asm, R5, 0x0708);
        Assert.Equal(SkAction.Pass, Run(asm));
    }

    [Theory]
    [InlineData(JumpOp.Equal, 5, 5, true)]
    [InlineData(JumpOp.Equal, 5, 6, false)]
    [InlineData(JumpOp.NotEqual, 5, 6, true)]
    [InlineData(JumpOp.Greater, -1, 1, true)]          // unsigned: -1 is the largest
    [InlineData(JumpOp.GreaterOrEqual, 5, 5, true)]
    [InlineData(JumpOp.Less, 1, -1, true)]
    [InlineData(JumpOp.LessOrEqual, 6, 5, false)]
    [InlineData(JumpOp.SignedGreater, -1, 1, false)]   // signed: -1 < 1
    [InlineData(JumpOp.SignedGreaterOrEqual, -1, -1, true)]
    [InlineData(JumpOp.SignedLess, -2, 1, true)]
    [InlineData(JumpOp.SignedLessOrEqual, 2, 1, false)]
    [InlineData(JumpOp.BitsSet, 6, 4, true)]
    [InlineData(JumpOp.BitsSet, 6, 1, false)]
    public void ConditionalJumpsCompareAsTheyName(JumpOp op, int left, int right, bool taken)
    {
        foreach (var wide in new[] { true, false })
        foreach (var fromRegister in new[] { true, false })
        {
            var asm = new Assembler().Mov(R1, left).Mov(R2, right).Mov(R0, 0);
            if (wide && fromRegister) asm.JumpIf(R1, op, R2, "taken");
            else if (wide) asm.JumpIf(R1, op, right, "taken");
            else if (fromRegister) asm.JumpIf32(R1, op, R2, "taken");
            else asm.JumpIf32(R1, op, right, "taken");
            asm.Jump("join").Label("taken").Mov(R0, 1).Label("join");
            Expect(asm, R0, taken ? 1 : 0);
            Assert.True(SkAction.Pass == Run(asm), $"{op} {left} {right} (64-bit {wide}, register {fromRegister})");
        }
    }

    [Fact]
    public void StackStoresAndLoadsOfEverySizeAndAtomicAdd()
    {
        var asm = new Assembler()
            .Store(Size.DoubleWord, R10, -8, 0)
            .Store(Size.Byte, R10, -8, 0x11)
            .Store(Size.Half, R10, -6, 0x2233)
            .Mov(R1, 0x44556677).Store(Size.Word, R10, -4, R1)
            .Load(Size.DoubleWord, R2, R10, -8);
        Expect(asm, R2, 0x4455667722330011);
        asm.Load(Size.Half, R3, R10, -6);
        Expect(asm, R3, 0x2233);
        asm.Load(Size.Byte, R4, R10, -8);
        Expect(asm, R4, 0x11);
        asm.Mov(R5, 0x100).AtomicAdd(Size.DoubleWord, R10, -8, R5).Load(Size.DoubleWord, R2, R10, -8);
        Expect(asm, R2, 0x4455667722330111);
        Assert.Equal(SkAction.Pass, Run(asm));
    }

    [Fact]
    public void FunctionCallsPassArgumentsAndReturnResults()
    {
        var asm = new Assembler().Mov(R1, 41).Call("increment");
        Expect(asm, R0, 42);
        asm.Return(SkAction.Pass)
           .Label("increment").Mov(R0, R1).Add(R0, 1).Exit();
        using var program = BpfProgram.Load(asm.Build("calls"));
        Assert.Equal(SkAction.Pass, program.TestRun(AnyLookup).Verdict);
    }

    [Fact]
    public void MapPointerAndMapValueLoadsReachTheMap()
    {
        using var data = BpfMap.Create(new MapSpec { Name = "data", Type = MapType.Array, KeySize = 4, ValueSize = 16, MaxEntries = 1 });
        var value = new byte[16];
        BitConverter.GetBytes(0x1122334455667788L).CopyTo(value, 8);
        data.Update(BitConverter.GetBytes(0), value);
        var maps = new Dictionary<string, BpfMap> { ["data"] = data };

        // Through a value pointer (global data), then through a lookup via the map pointer.
        var asm = new Assembler().LoadMapValue(R6, "data", 8).Load(Size.DoubleWord, R1, R6, 0);
        Expect(asm, R1, 0x1122334455667788);
        asm.Store(Size.Word, R10, -4, 0).LoadMapPointer(R1, "data").Mov(R2, R10).Add(R2, -4)
           .Call(HelperFunction.MapLookupElem)
           .JumpIf(R0, JumpOp.NotEqual, 0, "found").Return(SkAction.Drop)
           .Label("found").Load(Size.DoubleWord, R1, R0, 8);
        Expect(asm, R1, 0x1122334455667788);
        Assert.Equal(SkAction.Pass, Run(asm, maps));
    }
}
