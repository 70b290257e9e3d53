namespace SkLookup.Bpf.Asm;

/// <summary>
/// Builds an eBPF program one instruction at a time, in an order that reads like the C it stands for.
/// Jumps and bpf-to-bpf calls name labels, and map loads name maps; both are resolved by
/// <see cref="Build"/>, which produces a kernel-free <see cref="ProgramSpec"/>.
/// </summary>
/// <example>
/// <code>
/// var asm = new Assembler();
/// asm.Load(Size.Word, R2, R1, SkLookupContext.LocalPort)   // r2 = ctx->local_port
///    .JumpIf(R2, JumpOp.NotEqual, 80, "pass")             // if (r2 != 80) goto pass
///    ...
///    .Label("pass").Return(SkAction.Pass);
/// </code>
/// </example>
public sealed class Assembler
{
    private readonly List<Instruction> _instructions = [];
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<(int Index, string Label, bool IsCall)> _branches = [];
    private readonly List<MapReference> _mapReferences = [];

    /// <summary>The number of instruction slots emitted so far.</summary>
    public int Count => _instructions.Count;

    // ---- Arithmetic -----------------------------------------------------------------------

    /// <summary><c>dst = src</c> (64-bit).</summary>
    public Assembler Mov(Register dst, Register src) => Alu(AluOp.Mov, dst, src);

    /// <summary><c>dst = imm</c> (64-bit, sign-extended).</summary>
    public Assembler Mov(Register dst, int imm) => Alu(AluOp.Mov, dst, imm);

    /// <summary><c>wdst = wsrc</c> (32-bit; clears the upper half).</summary>
    public Assembler Mov32(Register dst, Register src) => Alu32(AluOp.Mov, dst, src);

    /// <summary><c>wdst = imm</c> (32-bit; clears the upper half).</summary>
    public Assembler Mov32(Register dst, int imm) => Alu32(AluOp.Mov, dst, imm);

    /// <summary><c>dst += imm</c> (64-bit).</summary>
    public Assembler Add(Register dst, int imm) => Alu(AluOp.Add, dst, imm);

    /// <summary><c>dst += src</c> (64-bit).</summary>
    public Assembler Add(Register dst, Register src) => Alu(AluOp.Add, dst, src);

    /// <summary><c>dst OP= src</c> (64-bit).</summary>
    public Assembler Alu(AluOp op, Register dst, Register src) =>
        Emit(new((byte)((byte)OpClass.Alu64 | (byte)op | OpCodes.SourceRegister), dst, src, 0, 0));

    /// <summary><c>dst OP= imm</c> (64-bit).</summary>
    public Assembler Alu(AluOp op, Register dst, int imm) =>
        Emit(new((byte)((byte)OpClass.Alu64 | (byte)op | OpCodes.SourceImmediate), dst, Register.R0, 0, imm));

    /// <summary><c>wdst OP= wsrc</c> (32-bit).</summary>
    public Assembler Alu32(AluOp op, Register dst, Register src) =>
        Emit(new((byte)((byte)OpClass.Alu | (byte)op | OpCodes.SourceRegister), dst, src, 0, 0));

    /// <summary><c>wdst OP= imm</c> (32-bit).</summary>
    public Assembler Alu32(AluOp op, Register dst, int imm) =>
        Emit(new((byte)((byte)OpClass.Alu | (byte)op | OpCodes.SourceImmediate), dst, Register.R0, 0, imm));

    /// <summary><c>dst = -dst</c> (64-bit).</summary>
    public Assembler Negate(Register dst) => Emit(new((byte)((byte)OpClass.Alu64 | (byte)AluOp.Negate), dst, Register.R0, 0, 0));

    /// <summary>Converts the low <paramref name="bits"/> (16, 32 or 64) of <paramref name="dst"/> to big-endian (network) order.</summary>
    public Assembler ToBigEndian(Register dst, int bits) => ByteSwap(dst, bits, toBigEndian: true);

    /// <summary>Converts the low <paramref name="bits"/> (16, 32 or 64) of <paramref name="dst"/> to little-endian order.</summary>
    public Assembler ToLittleEndian(Register dst, int bits) => ByteSwap(dst, bits, toBigEndian: false);

    private Assembler ByteSwap(Register dst, int bits, bool toBigEndian)
    {
        if (bits is not (16 or 32 or 64))
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "a byte swap is 16, 32 or 64 bits wide");
        // BPF_END uses the source bit for the direction: BPF_TO_BE (0x08) or BPF_TO_LE (0x00).
        return Emit(new((byte)((byte)OpClass.Alu | (byte)AluOp.Endian | (toBigEndian ? 0x08 : 0x00)), dst, Register.R0, 0, bits));
    }

    // ---- Memory ---------------------------------------------------------------------------

    /// <summary><c>dst = *(size *)(src + offset)</c>.</summary>
    public Assembler Load(Size size, Register dst, Register src, short offset) =>
        Emit(new((byte)((byte)OpClass.Ldx | (byte)size | OpCodes.ModeMemory), dst, src, offset, 0));

    /// <summary><c>*(size *)(dst + offset) = src</c>.</summary>
    public Assembler Store(Size size, Register dst, short offset, Register src) =>
        Emit(new((byte)((byte)OpClass.Stx | (byte)size | OpCodes.ModeMemory), dst, src, offset, 0));

    /// <summary><c>*(size *)(dst + offset) = imm</c>.</summary>
    public Assembler Store(Size size, Register dst, short offset, int imm) =>
        Emit(new((byte)((byte)OpClass.St | (byte)size | OpCodes.ModeMemory), dst, Register.R0, offset, imm));

    /// <summary><c>lock *(size *)(dst + offset) += src</c>; <paramref name="size"/> is Word or DoubleWord.</summary>
    public Assembler AtomicAdd(Size size, Register dst, short offset, Register src) =>
        Atomic(size, dst, offset, src, (int)AluOp.Add);

    /// <summary>An atomic read-modify-write (BPF_ATOMIC); <paramref name="operation"/> is an ALU op, optionally with <see cref="OpCodes.AtomicFetch"/>.</summary>
    public Assembler Atomic(Size size, Register dst, short offset, Register src, int operation)
    {
        if (size is not (Size.Word or Size.DoubleWord))
            throw new ArgumentOutOfRangeException(nameof(size), size, "atomic operations are 4 or 8 bytes wide");
        return Emit(new((byte)((byte)OpClass.Stx | (byte)size | OpCodes.ModeAtomic), dst, src, offset, operation));
    }

    /// <summary><c>dst = imm64</c>, two instruction slots.</summary>
    public Assembler LoadImm64(Register dst, long value)
    {
        Emit(new(OpCodes.LoadImm64, dst, Register.R0, 0, (int)value));
        return Emit(new(0, Register.R0, Register.R0, 0, (int)(value >> 32)));
    }

    /// <summary><c>dst = &amp;map</c>: a pointer to the map named <paramref name="mapName"/>, resolved at load time.</summary>
    public Assembler LoadMapPointer(Register dst, string mapName)
    {
        _mapReferences.Add(new MapReference(_instructions.Count, mapName));
        Emit(new(OpCodes.LoadImm64, dst, (Register)OpCodes.PseudoMapFd, 0, 0));
        return Emit(new(0, Register.R0, Register.R0, 0, 0));
    }

    /// <summary><c>dst = (void *)map_value + offset</c>: the address inside an array map's single value (global data).</summary>
    public Assembler LoadMapValue(Register dst, string mapName, int offset = 0)
    {
        _mapReferences.Add(new MapReference(_instructions.Count, mapName, offset, IsValue: true));
        Emit(new(OpCodes.LoadImm64, dst, (Register)OpCodes.PseudoMapValue, 0, 0));
        return Emit(new(0, Register.R0, Register.R0, 0, offset));
    }

    // ---- Control flow ---------------------------------------------------------------------

    /// <summary>Names the position of the next instruction, for jumps and calls.</summary>
    public Assembler Label(string name)
    {
        if (!_labels.TryAdd(name, _instructions.Count))
            throw new InvalidOperationException($"label '{name}' is defined twice");
        return this;
    }

    /// <summary><c>goto label</c>.</summary>
    public Assembler Jump(string label) => Branch(new((byte)((byte)OpClass.Jmp | (byte)JumpOp.Always), Register.R0, Register.R0, 0, 0), label);

    /// <summary><c>if (dst OP imm) goto label</c>, comparing 64 bits.</summary>
    public Assembler JumpIf(Register dst, JumpOp op, int imm, string label) =>
        Branch(new((byte)((byte)OpClass.Jmp | (byte)CheckCondition(op) | OpCodes.SourceImmediate), dst, Register.R0, 0, imm), label);

    /// <summary><c>if (dst OP src) goto label</c>, comparing 64 bits.</summary>
    public Assembler JumpIf(Register dst, JumpOp op, Register src, string label) =>
        Branch(new((byte)((byte)OpClass.Jmp | (byte)CheckCondition(op) | OpCodes.SourceRegister), dst, src, 0, 0), label);

    /// <summary><c>if (wdst OP imm) goto label</c>, comparing the low 32 bits.</summary>
    public Assembler JumpIf32(Register dst, JumpOp op, int imm, string label) =>
        Branch(new((byte)((byte)OpClass.Jmp32 | (byte)CheckCondition(op) | OpCodes.SourceImmediate), dst, Register.R0, 0, imm), label);

    /// <summary><c>if (wdst OP wsrc) goto label</c>, comparing the low 32 bits.</summary>
    public Assembler JumpIf32(Register dst, JumpOp op, Register src, string label) =>
        Branch(new((byte)((byte)OpClass.Jmp32 | (byte)CheckCondition(op) | OpCodes.SourceRegister), dst, src, 0, 0), label);

    /// <summary>Calls a kernel helper; arguments in R1-R5, result in R0, R1-R5 clobbered.</summary>
    public Assembler Call(HelperFunction helper) => Emit(new(OpCodes.Call, Register.R0, Register.R0, 0, (int)helper));

    /// <summary>Calls the bpf-to-bpf function that starts at <paramref name="functionLabel"/>.</summary>
    public Assembler Call(string functionLabel)
    {
        _branches.Add((_instructions.Count, functionLabel, true));
        return Emit(new(OpCodes.Call, Register.R0, (Register)OpCodes.PseudoCall, 0, 0));
    }

    /// <summary>
    /// The redirect that every steering program ends with, for the socket reference a SOCKMAP lookup left
    /// in R0 (checked for null before): keeps it in <paramref name="socket"/>,
    /// <c>result = bpf_sk_assign(context, socket, 0)</c>, <c>bpf_sk_release(socket)</c> (a lookup takes a
    /// reference that the program must drop), then <c>if (result != 0) goto failed</c>. The kernel refuses a
    /// socket of the wrong protocol, family or state. <paramref name="context"/>, <paramref name="socket"/> and
    /// <paramref name="result"/> must be callee-saved registers (R6-R9), which survive the two calls.
    /// </summary>
    public Assembler AssignSocket(Register context, Register socket, Register result, string failed) =>
        Mov(socket, Register.R0)
            .Mov(Register.R1, context).Mov(Register.R2, socket).Mov(Register.R3, 0).Call(HelperFunction.SkAssign)
            .Mov(result, Register.R0)
            .Mov(Register.R1, socket).Call(HelperFunction.SkRelease)
            .JumpIf(result, JumpOp.NotEqual, 0, failed);

    /// <summary><c>return r0</c>.</summary>
    public Assembler Exit() => Emit(new(OpCodes.Exit, Register.R0, Register.R0, 0, 0));

    /// <summary><c>return verdict</c>: sets R0 and exits.</summary>
    public Assembler Return(SkAction verdict) => Mov(Register.R0, (int)verdict).Exit();

    /// <summary>Appends a ready-made instruction slot.</summary>
    public Assembler Emit(Instruction instruction)
    {
        _instructions.Add(instruction);
        return this;
    }

    /// <summary>Appends ready-made slots (for example, another program's body).</summary>
    public Assembler EmitAll(IEnumerable<Instruction> instructions)
    {
        _instructions.AddRange(instructions);
        return this;
    }

    /// <summary>
    /// Appends a fragment built by another assembler: its jumps are already resolved (they are relative, and
    /// stay within the fragment), and its map references move with it. Each fragment has its own labels, so
    /// a generator can give every part of a large program its own exits within 16-bit jump range.
    /// </summary>
    public Assembler Append(ProgramSpec fragment)
    {
        ArgumentNullException.ThrowIfNull(fragment);
        foreach (var reference in fragment.MapReferences)
            _mapReferences.Add(reference with { InstructionIndex = reference.InstructionIndex + _instructions.Count });
        _instructions.AddRange(fragment.Instructions);
        return this;
    }

    // ---- Putting it together --------------------------------------------------------------

    /// <summary>Resolves labels and map references into an immutable program description.</summary>
    public ProgramSpec Build(string name, ProgramType type = ProgramType.SkLookup, AttachType expectedAttachType = AttachType.SkLookup, string license = "GPL")
    {
        var instructions = _instructions.ToArray();
        foreach (var (index, label, isCall) in _branches)
        {
            if (!_labels.TryGetValue(label, out var target))
                throw new InvalidOperationException($"program '{name}': instruction {index} refers to label '{label}', which is not defined");
            if (target >= instructions.Length)
                throw new InvalidOperationException($"program '{name}': label '{label}' marks the end of the program, not an instruction");
            var distance = target - (index + 1);
            if (isCall)
                instructions[index] = instructions[index].WithImmediate(distance);
            else if (distance is < short.MinValue or > short.MaxValue)
                throw new InvalidOperationException($"program '{name}': the jump from {index} to '{label}' is too far for a 16-bit offset");
            else
                instructions[index] = instructions[index].WithOffset((short)distance);
        }
        return new ProgramSpec
        {
            Name = name,
            Type = type,
            ExpectedAttachType = expectedAttachType,
            License = license,
            Instructions = instructions,
            MapReferences = _mapReferences.ToArray(),
        };
    }

    private Assembler Branch(Instruction instruction, string label)
    {
        _branches.Add((_instructions.Count, label, false));
        return Emit(instruction);
    }

    private static JumpOp CheckCondition(JumpOp op) => op is JumpOp.Always or JumpOp.Call or JumpOp.Exit
        ? throw new ArgumentOutOfRangeException(nameof(op), op, "a conditional jump needs a comparison")
        : op;
}
