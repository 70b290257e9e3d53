using System.Runtime.InteropServices;

namespace SkLookup.Bpf.Asm;

/// <summary>
/// One 8-byte eBPF instruction slot (<c>struct bpf_insn</c>): opcode, destination and source
/// registers, a signed 16-bit offset and a signed 32-bit immediate. A 64-bit immediate load takes two slots.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
public readonly record struct Instruction
{
    private readonly byte _opCode;
    private readonly byte _registers;
    private readonly short _offset;
    private readonly int _immediate;

    /// <summary>Encodes an instruction from its parts.</summary>
    public Instruction(byte opCode, Register destination, Register source, short offset, int immediate)
    {
        _opCode = opCode;
        _registers = (byte)(((byte)source << 4) | ((byte)destination & 0x0f));
        _offset = offset;
        _immediate = immediate;
    }

    /// <summary>The opcode byte: class, plus size and mode or operation and source.</summary>
    public byte OpCode => _opCode;

    /// <summary>The destination register.</summary>
    public Register Destination => (Register)(_registers & 0x0f);

    /// <summary>The source register, or a pseudo source for LD_IMM64 and calls.</summary>
    public Register Source => (Register)(_registers >> 4);

    /// <summary>The signed offset: a memory displacement or a jump distance in slots.</summary>
    public short Offset => _offset;

    /// <summary>The signed 32-bit immediate.</summary>
    public int Immediate => _immediate;

    /// <summary>The instruction class (low three bits of the opcode).</summary>
    public OpClass Class => (OpClass)(_opCode & 0x07);

    /// <summary>True for the first slot of a 64-bit immediate load (<c>BPF_LD | BPF_DW | BPF_IMM</c>).</summary>
    public bool IsLoadImm64 => _opCode == OpCodes.LoadImm64;

    /// <summary>True for a call to a kernel helper.</summary>
    public bool IsHelperCall => _opCode == OpCodes.Call && Source == Register.R0;

    /// <summary>True for a bpf-to-bpf call (<c>BPF_PSEUDO_CALL</c>).</summary>
    public bool IsFunctionCall => _opCode == OpCodes.Call && (byte)Source == OpCodes.PseudoCall;

    /// <summary>Returns a copy with another immediate (used to patch relocations).</summary>
    public Instruction WithImmediate(int immediate) => new(_opCode, Destination, Source, _offset, immediate);

    /// <summary>Returns a copy with another offset (used to resolve jumps).</summary>
    public Instruction WithOffset(short offset) => new(_opCode, Destination, Source, offset, _immediate);

    /// <summary>Returns a copy with another source register (used to mark pseudo map loads).</summary>
    public Instruction WithSource(Register source) => new(_opCode, Destination, source, _offset, _immediate);

    /// <inheritdoc />
    public override string ToString() => Disassembler.Format(this);
}

/// <summary>The eleven eBPF registers. R10 is the read-only frame pointer.</summary>
public enum Register : byte
{
    /// <summary>Return value, and helper results.</summary>
    R0,
    /// <summary>First argument; the program's context on entry.</summary>
    R1,
    /// <summary>Second argument.</summary>
    R2,
    /// <summary>Third argument.</summary>
    R3,
    /// <summary>Fourth argument.</summary>
    R4,
    /// <summary>Fifth argument.</summary>
    R5,
    /// <summary>Callee-saved.</summary>
    R6,
    /// <summary>Callee-saved.</summary>
    R7,
    /// <summary>Callee-saved.</summary>
    R8,
    /// <summary>Callee-saved.</summary>
    R9,
    /// <summary>Frame pointer (read-only); the stack is below it.</summary>
    R10,
}

/// <summary>Instruction classes.</summary>
public enum OpClass : byte
{
    /// <summary>BPF_LD.</summary>
    Ld = 0,
    /// <summary>BPF_LDX.</summary>
    Ldx = 1,
    /// <summary>BPF_ST.</summary>
    St = 2,
    /// <summary>BPF_STX.</summary>
    Stx = 3,
    /// <summary>BPF_ALU: 32-bit arithmetic.</summary>
    Alu = 4,
    /// <summary>BPF_JMP: 64-bit compares, calls and exit.</summary>
    Jmp = 5,
    /// <summary>BPF_JMP32: 32-bit compares.</summary>
    Jmp32 = 6,
    /// <summary>BPF_ALU64: 64-bit arithmetic.</summary>
    Alu64 = 7,
}

/// <summary>Memory access sizes.</summary>
public enum Size : byte
{
    /// <summary>BPF_W: 4 bytes.</summary>
    Word = 0x00,
    /// <summary>BPF_H: 2 bytes.</summary>
    Half = 0x08,
    /// <summary>BPF_B: 1 byte.</summary>
    Byte = 0x10,
    /// <summary>BPF_DW: 8 bytes.</summary>
    DoubleWord = 0x18,
}

/// <summary>Arithmetic operations.</summary>
public enum AluOp : byte
{
    /// <summary>dst += src.</summary>
    Add = 0x00,
    /// <summary>dst -= src.</summary>
    Sub = 0x10,
    /// <summary>dst *= src.</summary>
    Mul = 0x20,
    /// <summary>dst /= src (unsigned).</summary>
    Div = 0x30,
    /// <summary>dst |= src.</summary>
    Or = 0x40,
    /// <summary>dst &amp;= src.</summary>
    And = 0x50,
    /// <summary>dst &lt;&lt;= src.</summary>
    LeftShift = 0x60,
    /// <summary>dst &gt;&gt;= src (logical).</summary>
    RightShift = 0x70,
    /// <summary>dst = -dst.</summary>
    Negate = 0x80,
    /// <summary>dst %= src (unsigned).</summary>
    Mod = 0x90,
    /// <summary>dst ^= src.</summary>
    Xor = 0xa0,
    /// <summary>dst = src.</summary>
    Mov = 0xb0,
    /// <summary>dst &gt;&gt;= src (arithmetic).</summary>
    ArithmeticRightShift = 0xc0,
    /// <summary>Byte swap (BPF_END); the immediate is the width.</summary>
    Endian = 0xd0,
}

/// <summary>Jump conditions. <see cref="Always"/>, <see cref="Call"/> and <see cref="Exit"/> share the class.</summary>
public enum JumpOp : byte
{
    /// <summary>goto (BPF_JA).</summary>
    Always = 0x00,
    /// <summary>==</summary>
    Equal = 0x10,
    /// <summary>&gt; (unsigned)</summary>
    Greater = 0x20,
    /// <summary>&gt;= (unsigned)</summary>
    GreaterOrEqual = 0x30,
    /// <summary>&amp; (any bit set)</summary>
    BitsSet = 0x40,
    /// <summary>!=</summary>
    NotEqual = 0x50,
    /// <summary>s&gt;</summary>
    SignedGreater = 0x60,
    /// <summary>s&gt;=</summary>
    SignedGreaterOrEqual = 0x70,
    /// <summary>BPF_CALL.</summary>
    Call = 0x80,
    /// <summary>BPF_EXIT.</summary>
    Exit = 0x90,
    /// <summary>&lt; (unsigned)</summary>
    Less = 0xa0,
    /// <summary>&lt;= (unsigned)</summary>
    LessOrEqual = 0xb0,
    /// <summary>s&lt;</summary>
    SignedLess = 0xc0,
    /// <summary>s&lt;=</summary>
    SignedLessOrEqual = 0xd0,
}

/// <summary>Raw opcode pieces, with the kernel's names (include/uapi/linux/bpf_common.h and bpf.h).</summary>
public static class OpCodes
{
    /// <summary>BPF_K: the operand is the immediate.</summary>
    public const byte SourceImmediate = 0x00;
    /// <summary>BPF_X: the operand is the source register.</summary>
    public const byte SourceRegister = 0x08;
    /// <summary>BPF_IMM mode.</summary>
    public const byte ModeImmediate = 0x00;
    /// <summary>BPF_MEM mode.</summary>
    public const byte ModeMemory = 0x60;
    /// <summary>BPF_ATOMIC mode.</summary>
    public const byte ModeAtomic = 0xc0;
    /// <summary>BPF_LD | BPF_DW | BPF_IMM: the first slot of a 64-bit immediate load.</summary>
    public const byte LoadImm64 = 0x18;
    /// <summary>BPF_JMP | BPF_CALL.</summary>
    public const byte Call = 0x85;
    /// <summary>BPF_JMP | BPF_EXIT.</summary>
    public const byte Exit = 0x95;
    /// <summary>BPF_PSEUDO_MAP_FD: LD_IMM64 whose immediate is a map fd.</summary>
    public const byte PseudoMapFd = 1;
    /// <summary>BPF_PSEUDO_MAP_VALUE: LD_IMM64 of a map fd plus an offset into its value.</summary>
    public const byte PseudoMapValue = 2;
    /// <summary>BPF_PSEUDO_CALL: a call whose immediate is a relative instruction offset.</summary>
    public const byte PseudoCall = 1;
    /// <summary>BPF_PSEUDO_FUNC: LD_IMM64 of a function address.</summary>
    public const byte PseudoFunc = 4;
    /// <summary>BPF_FETCH atomic modifier.</summary>
    public const int AtomicFetch = 0x01;
}
