using System.Globalization;
using System.Text;

namespace SkLookup.Bpf.Asm;

/// <summary>Prints instructions the way <c>bpftool prog dump xlated</c> does, for debugging and error messages.</summary>
public static class Disassembler
{
    /// <summary>Prints a whole program, one numbered line per instruction, naming the maps that LD_IMM64s refer to.</summary>
    public static string Format(IReadOnlyList<Instruction> instructions, IReadOnlyList<MapReference>? mapReferences = null)
    {
        var maps = mapReferences?.ToDictionary(r => r.InstructionIndex) ?? [];
        var text = new StringBuilder();
        for (var i = 0; i < instructions.Count; i++)
        {
            var instruction = instructions[i];
            string line;
            if (instruction.IsLoadImm64 && i + 1 < instructions.Count)
            {
                line = FormatLoadImm64(instruction, instructions[i + 1], maps.TryGetValue(i, out var reference) ? reference : null);
                text.Append(CultureInfo.InvariantCulture, $"{i,4}: ({instruction.OpCode:x2}) {line}\n");
                i++; // The second slot belongs to the first.
                continue;
            }
            line = instruction.IsFunctionCall ? $"call pc{Signed(instruction.Immediate)}" : Body(instruction);
            text.Append(CultureInfo.InvariantCulture, $"{i,4}: ({instruction.OpCode:x2}) {line}\n");
        }
        return text.ToString();
    }

    /// <summary>Prints one instruction without its index, e.g. <c>(61) r2 = *(u32 *)(r1 +60)</c>.</summary>
    public static string Format(Instruction instruction) =>
        string.Create(CultureInfo.InvariantCulture, $"({instruction.OpCode:x2}) {Body(instruction)}");

    private static string Body(Instruction ins)
    {
        var op = ins.OpCode;
        switch (ins.Class)
        {
            case OpClass.Alu or OpClass.Alu64:
                return FormatAlu(ins);
            case OpClass.Jmp or OpClass.Jmp32:
                return FormatJump(ins);
            case OpClass.Ldx:
                return $"{R(ins.Destination)} = *({SizeName(op)} *)({R(ins.Source)} {Signed(ins.Offset)})";
            case OpClass.Stx when (op & 0xe0) == OpCodes.ModeAtomic:
                var fetch = (ins.Immediate & OpCodes.AtomicFetch) != 0 ? " fetch" : "";
                var atomicOp = (AluOp)(ins.Immediate & ~OpCodes.AtomicFetch) switch
                {
                    AluOp.Add => "+=", AluOp.And => "&=", AluOp.Or => "|=", AluOp.Xor => "^=", _ => $"op{ins.Immediate:x}",
                };
                return $"lock *({SizeName(op)} *)({R(ins.Destination)} {Signed(ins.Offset)}) {atomicOp}{fetch} {R(ins.Source)}";
            case OpClass.Stx:
                return $"*({SizeName(op)} *)({R(ins.Destination)} {Signed(ins.Offset)}) = {R(ins.Source)}";
            case OpClass.St:
                return string.Create(CultureInfo.InvariantCulture, $"*({SizeName(op)} *)({R(ins.Destination)} {Signed(ins.Offset)}) = {ins.Immediate}");
            case OpClass.Ld when ins.IsLoadImm64:
                return $"{R(ins.Destination)} = 0x{(uint)ins.Immediate:x} ll";
            default:
                return $"invalid opcode 0x{op:x2}";
        }
    }

    private static string FormatLoadImm64(Instruction first, Instruction second, MapReference? reference)
    {
        var dst = R(first.Destination);
        return (byte)first.Source switch
        {
            OpCodes.PseudoMapFd => reference is { } map ? $"{dst} = map[{map.MapName}]" : $"{dst} = map[fd:{first.Immediate}]",
            OpCodes.PseudoMapValue => reference is { } value
                ? string.Create(CultureInfo.InvariantCulture, $"{dst} = map[{value.MapName}][0]+{second.Immediate}")
                : string.Create(CultureInfo.InvariantCulture, $"{dst} = map[fd:{first.Immediate}][0]+{second.Immediate}"),
            OpCodes.PseudoFunc => string.Create(CultureInfo.InvariantCulture, $"{dst} = func pc{Signed(first.Immediate)}"),
            _ => $"{dst} = 0x{(ulong)(uint)first.Immediate | ((ulong)(uint)second.Immediate << 32):x}",
        };
    }

    private static string FormatAlu(Instruction ins)
    {
        var wide = ins.Class == OpClass.Alu64;
        var dst = wide ? R(ins.Destination) : W(ins.Destination);
        var fromRegister = (ins.OpCode & OpCodes.SourceRegister) != 0;
        var operation = (AluOp)(ins.OpCode & 0xf0);
        if (operation == AluOp.Endian)
            return string.Create(CultureInfo.InvariantCulture, $"{R(ins.Destination)} = {(fromRegister ? "be" : "le")}{ins.Immediate} {R(ins.Destination)}");
        if (operation == AluOp.Negate)
            return $"{dst} = -{dst}";
        var src = fromRegister ? (wide ? R(ins.Source) : W(ins.Source)) : Immediate(ins.Immediate);
        var symbol = operation switch
        {
            AluOp.Add => "+=", AluOp.Sub => "-=", AluOp.Mul => "*=", AluOp.Div => "/=", AluOp.Or => "|=",
            AluOp.And => "&=", AluOp.LeftShift => "<<=", AluOp.RightShift => ">>=", AluOp.Mod => "%=",
            AluOp.Xor => "^=", AluOp.Mov => "=", AluOp.ArithmeticRightShift => "s>>=", _ => "?=",
        };
        return $"{dst} {symbol} {src}";
    }

    private static string FormatJump(Instruction ins)
    {
        var operation = (JumpOp)(ins.OpCode & 0xf0);
        switch (operation)
        {
            case JumpOp.Always:
                return $"goto pc{Signed(ins.Offset)}";
            case JumpOp.Call:
                return ins.IsFunctionCall
                    ? $"call pc{Signed(ins.Immediate)}"
                    : Enum.IsDefined((HelperFunction)ins.Immediate)
                        ? string.Create(CultureInfo.InvariantCulture, $"call {HelperName((HelperFunction)ins.Immediate)}#{ins.Immediate}")
                        : string.Create(CultureInfo.InvariantCulture, $"call #{ins.Immediate}");
            case JumpOp.Exit:
                return "exit";
        }
        var wide = ins.Class == OpClass.Jmp;
        var dst = wide ? R(ins.Destination) : W(ins.Destination);
        var src = (ins.OpCode & OpCodes.SourceRegister) != 0 ? (wide ? R(ins.Source) : W(ins.Source)) : Immediate(ins.Immediate);
        var symbol = operation switch
        {
            JumpOp.Equal => "==", JumpOp.Greater => ">", JumpOp.GreaterOrEqual => ">=", JumpOp.BitsSet => "&",
            JumpOp.NotEqual => "!=", JumpOp.SignedGreater => "s>", JumpOp.SignedGreaterOrEqual => "s>=",
            JumpOp.Less => "<", JumpOp.LessOrEqual => "<=", JumpOp.SignedLess => "s<", JumpOp.SignedLessOrEqual => "s<=",
            _ => "?",
        };
        return $"if {dst} {symbol} {src} goto pc{Signed(ins.Offset)}";
    }

    /// <summary>The helper's C name, e.g. <c>bpf_sk_assign</c>.</summary>
    public static string HelperName(HelperFunction helper)
    {
        var name = helper.ToString();
        var snake = new StringBuilder("bpf");
        foreach (var c in name)
        {
            if (char.IsUpper(c))
                snake.Append('_');
            snake.Append(char.ToLowerInvariant(c));
        }
        return snake.ToString();
    }

    private static string SizeName(byte opCode) => (Size)(opCode & 0x18) switch
    {
        Size.Word => "u32", Size.Half => "u16", Size.Byte => "u8", _ => "u64",
    };

    private static string R(Register register) => $"r{(int)register}";
    private static string W(Register register) => $"w{(int)register}";
    private static string Signed(int value) => value < 0 ? value.ToString(CultureInfo.InvariantCulture) : "+" + value.ToString(CultureInfo.InvariantCulture);
    private static string Immediate(int value) => value is >= 0 and < 10
        ? value.ToString(CultureInfo.InvariantCulture)
        : value < 0 ? value.ToString(CultureInfo.InvariantCulture) : $"0x{value:x}";
}
