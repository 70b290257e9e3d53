using System.Buffers.Binary;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Dispatch;

/// <summary>
/// Generates the dispatcher: the sk_lookup program that matches a packet against the bindings and
/// hands it to its destination's socket. The code is specialised to a <see cref="DispatcherShape"/>:
/// classes without bindings cost one compare, small classes are straight-line compares, and large
/// ones probe a hash map once per prefix length present, skipping every specific-port probe when
/// the ports map says that the packet's port has none.
/// </summary>
public static class DispatcherProgram
{
    /// <summary>The program's name in the kernel.</summary>
    public const string Name = "sk_dispatcher";

    // Registers that live across helper calls (R6-R9 are callee-saved).
    private const Register Context = R6, Port = R7, Address4 = R8, DestinationId = R8, Counters = R9, Socket = R7, AssignResult = R8;

    // Stack: the IPv4 key at fp-8, the IPv6 key at fp-24 (their paths never meet), a u32 array key at fp-32.
    private const short Key4 = -8, Key6 = -24, ScratchKey = -32;

    /// <summary>Generates the program for <paramref name="shape"/>.</summary>
    public static ProgramSpec Generate(DispatcherShape shape)
    {
        var asm = new Assembler();
        if (shape.Classes.Count == 0)
            return asm.Return(SkAction.Pass).Build(Name);
        asm.Mov(Context, R1);
        EmitClassDispatch(asm, shape);
        foreach (var classShape in shape.Classes)
            EmitClass(asm, classShape);
        // The verifier rejects unreachable code: the hash-value entry exists only where a probe can jump to it.
        EmitDelivery(asm, hasProbes: shape.Classes.Any(c => c.Probes.Count > 0));
        return asm.Build(Name);
    }

    private static void EmitClassDispatch(Assembler asm, DispatcherShape shape)
    {
        var present = shape.Classes.Select(c => c.Class).ToHashSet();
        asm.Load(Size.Word, R2, Context, SkLookupContext.Family)
           .Load(Size.Word, R3, Context, SkLookupContext.Protocol);
        foreach (var family in new[] { Family.IPv4, Family.IPv6 })
        {
            var classes = TrafficClasses.All.Where(c => c.Family() == family && present.Contains(c)).ToList();
            if (classes.Count == 0)
                continue;
            var next = $"not_{family}";
            asm.JumpIf32(R2, JumpOp.NotEqual, (int)family, next);
            foreach (var trafficClass in classes)
                asm.JumpIf32(R3, JumpOp.Equal, (int)trafficClass.Protocol(), ClassLabel(trafficClass));
            asm.Jump("pass");
            asm.Label(next);
        }
        asm.Jump("pass");
    }

    private static void EmitClass(Assembler asm, ClassShape shape)
    {
        var family = shape.Class.Family();
        asm.Label(ClassLabel(shape.Class));
        asm.Load(Size.Word, Port, Context, SkLookupContext.LocalPort);
        if (family == Family.IPv4)
            asm.Load(Size.Word, Address4, Context, SkLookupContext.LocalIp4);

        if (shape.Inline is { } inline)
        {
            for (var i = 0; i < inline.Count; i++)
                EmitInlineCompare(asm, inline[i], $"{shape.Class}_inline_{i}");
            asm.Jump("pass");
            return;
        }

        var anyOnly = $"{shape.Class}_any_only";
        if (shape.HasSpecificPortProbes)
        {
            // The ports map rules out every specific-port probe with one inlined array access.
            var withSpecific = $"{shape.Class}_with_port";
            asm.Store(Size.Word, R10, ScratchKey, Port)
               .LoadMapPointer(R1, DispatcherLayout.Ports.Name).Mov(R2, R10).Add(R2, ScratchKey)
               .Call(HelperFunction.MapLookupElem)
               .JumpIf(R0, JumpOp.Equal, 0, anyOnly)
               .Load(Size.Word, R1, R0, 0)
               .JumpIf32(R1, JumpOp.BitsSet, (int)shape.Class.PortBit(), withSpecific)
               .Label(anyOnly);
            EmitProbes(asm, shape, shape.Probes.Where(p => !p.SpecificPort));
            asm.Jump("pass");
            asm.Label(withSpecific);
            EmitProbes(asm, shape, shape.Probes);
        }
        else
        {
            EmitProbes(asm, shape, shape.Probes);
        }
        asm.Jump("pass");
    }

    private static void EmitProbes(Assembler asm, ClassShape shape, IEnumerable<HashProbe> probes)
    {
        var v4 = shape.Class.Family() == Family.IPv4;
        foreach (var probe in probes)
        {
            var tail = (int)BindingKey.Tail(0, shape.Class.Protocol(), probe.PrefixLength);
            short keyOffset;
            if (v4)
            {
                keyOffset = Key4;
                EmitMaskedWord(asm, probe.PrefixLength, 0, () => asm.Mov32(R1, Address4));
                asm.Store(Size.Word, R10, Key4, R1);
            }
            else
            {
                keyOffset = Key6;
                for (var word = 0; word < 4; word++)
                {
                    var offset = (short)(Key6 + word * 4);
                    if (DispatcherShape.MaskWord(probe.PrefixLength, word) == 0)
                    {
                        asm.Store(Size.Word, R10, offset, 0);
                        continue;
                    }
                    var field = (short)(SkLookupContext.LocalIp6 + word * 4);
                    EmitMaskedWord(asm, probe.PrefixLength, word, () => asm.Load(Size.Word, R1, Context, field));
                    asm.Store(Size.Word, R10, offset, R1);
                }
            }
            if (probe.SpecificPort)
                asm.Mov32(R1, Port).Alu32(AluOp.Add, R1, tail);
            else
                asm.Mov32(R1, tail);
            asm.Store(Size.Word, R10, (short)(keyOffset + (v4 ? 4 : 16)), R1)
               .LoadMapPointer(R1, v4 ? DispatcherLayout.Bindings4.Name : DispatcherLayout.Bindings6.Name)
               .Mov(R2, R10).Add(R2, keyOffset)
               .Call(HelperFunction.MapLookupElem)
               .JumpIf(R0, JumpOp.NotEqual, 0, "found_value");
        }
    }

    /// <summary>Leaves word <paramref name="word"/> of the destination address, masked to the prefix, in W1.</summary>
    private static void EmitMaskedWord(Assembler asm, int prefixLength, int word, Action load)
    {
        var mask = DispatcherShape.MaskWord(prefixLength, word);
        if (mask == 0)
        {
            asm.Mov32(R1, 0);
            return;
        }
        load();
        if (mask != uint.MaxValue)
            asm.Alu32(AluOp.And, R1, (int)mask);
    }

    private static void EmitInlineCompare(Assembler asm, InlineBinding binding, string next)
    {
        var match = binding.Match;
        if (match.Port != 0)
            asm.JumpIf32(Port, JumpOp.NotEqual, match.Port, next);
        Span<byte> address = stackalloc byte[16];
        match.Prefix.BaseAddress.TryWriteBytes(address, out var size);
        var v4 = match.Prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        for (var word = 0; word < size / 4; word++)
        {
            if (DispatcherShape.MaskWord(match.Prefix.PrefixLength, word) == 0)
                break;
            var field = (short)(SkLookupContext.LocalIp6 + word * 4);
            EmitMaskedWord(asm, match.Prefix.PrefixLength, word, v4
                ? () => asm.Mov32(R1, Address4)
                : () => asm.Load(Size.Word, R1, Context, field));
            asm.JumpIf32(R1, JumpOp.NotEqual, BinaryPrimitives.ReadInt32LittleEndian(address.Slice(word * 4, 4)), next);
        }
        asm.Mov32(DestinationId, (int)binding.DestinationId).Jump("found_id");
        asm.Label(next);
    }

    /// <summary>Counts the lookup, then assigns the destination's socket, or drops (or falls through) without one.</summary>
    private static void EmitDelivery(Assembler asm, bool hasProbes)
    {
        if (hasProbes)
            asm.Label("found_value").Load(Size.Word, DestinationId, R0, 0);
        asm.Label("found_id")
           .Store(Size.Word, R10, ScratchKey, DestinationId)
           .LoadMapPointer(R1, DispatcherLayout.Metrics.Name).Mov(R2, R10).Add(R2, ScratchKey)
           .Call(HelperFunction.MapLookupElem)
           .JumpIf(R0, JumpOp.Equal, 0, "drop") // Ids are below max_entries, so this never happens.
           .Mov(Counters, R0);
        EmitIncrement(asm, DestinationCounters.LookupsOffset);
        asm.LoadMapPointer(R1, DispatcherLayout.Sockets.Name).Mov(R2, R10).Add(R2, ScratchKey)
           .Call(HelperFunction.MapLookupElem)
           .JumpIf(R0, JumpOp.Equal, 0, "no_socket")
           .Mov(Socket, R0)
           .Mov(R1, Context).Mov(R2, Socket).Mov(R3, 0).Call(HelperFunction.SkAssign)
           .Mov(AssignResult, R0)
           .Mov(R1, Socket).Call(HelperFunction.SkRelease)
           .JumpIf(AssignResult, JumpOp.NotEqual, 0, "assign_failed")
           .Label("pass").Return(SkAction.Pass);

        asm.Label("no_socket");
        EmitIncrement(asm, DestinationCounters.MissesOffset);
        asm.LoadMapPointer(R1, DispatcherLayout.DestinationOptions.Name).Mov(R2, R10).Add(R2, ScratchKey)
           .Call(HelperFunction.MapLookupElem)
           .JumpIf(R0, JumpOp.Equal, 0, "drop")
           .Load(Size.Word, R1, R0, 0)
           .JumpIf32(R1, JumpOp.BitsSet, (int)DestinationFlags.FallThrough, "pass")
           .Jump("drop");

        // bpf_sk_assign refused the socket: the wrong protocol or family for this packet, or a state it cannot take.
        asm.Label("assign_failed");
        EmitIncrement(asm, DestinationCounters.ErrorsOffset);
        asm.Label("drop").Return(SkAction.Drop);
    }

    // The counters are per CPU and sk_lookup runs with migration disabled, so a plain add is enough.
    private static void EmitIncrement(Assembler asm, short offset) =>
        asm.Load(Size.DoubleWord, R1, Counters, offset).Add(R1, 1).Store(Size.DoubleWord, Counters, offset, R1);

    private static string ClassLabel(TrafficClass trafficClass) => $"class_{trafficClass}";
}
