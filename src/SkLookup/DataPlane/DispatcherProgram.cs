using System.Buffers.Binary;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.DataPlane;

/// <summary>
/// Generates the dispatcher: the sk_lookup program that matches a packet against the bindings and
/// hands it to its destination's socket. The code is specialised to a <see cref="DispatcherShape"/>:
/// a traffic class without bindings costs one compare; a small class is compiled into decision trees
/// (a binary search over port and address words per prefix length); a large one probes its family's
/// <see cref="ProbeTable"/> once per prefix length present, after the <see cref="AddressPrefilter"/>
/// and the ports map have ruled out the probes that cannot match, or, with many lengths, runs a binary
/// search on its prefix lengths (<see cref="LengthSearch"/>). Kernel helper calls are the dominant
/// cost (each call and return is expensive under return-stack mitigations), so matching makes none:
/// array lookups are inlined by the verifier, and the only calls are the three that a redirect needs.
/// Generation touches no kernel: <see cref="DispatcherLoader"/> loads the program with its tables.
/// </summary>
/// <remarks>
/// <para>Program size and verifier work are bounded by construction, because a generator must load for every
/// binding set. A probe is a fixed amount of code: two buckets, the first unrolled, the second a four-turn
/// bounded loop (accepted since Linux 5.3). A class with more than 96 probes has no second copy of its any-port
/// probes (a port without a specific binding clears the specific-port bits of the prefilter mask instead), so
/// a class with all 129 IPv6 lengths on both port kinds is 258 probes, about 22,000 instructions. Each class is
/// its own fragment with its own exits, each family has its own dispatch, and hits reach found_id through a
/// relay every 48 probes, so that no jump needs more than the 16-bit offsets BPF allows. Decision trees load
/// each compared word from the context rather than copying R7 and R8, so that the verifier's states after a
/// tree's misses stay equal and prune (the copies made a hundred trees exhaust the verifier, E2BIG).</para>
/// <para>The cost of a large class in probe form grows linearly with the number of (prefix length, port kind)
/// probes that the prefilter leaves for the looked-up address: a probe that misses is about 20 instructions (hash,
/// one inlined array access, the first bucket's tails until an empty slot). A class with
/// <see cref="LengthSearch.Threshold"/> or more probes is searched instead (Waldvogel's binary search on prefix
/// lengths with markers): one search per port kind, so that markers are keyed by port and their best matching
/// prefix does not depend on the packet, each about log2(n) + 1 probes, the prefilter skipping a node whose bit is
/// clear (markers set their bit in the buckets of the binding they lead to). At 1,000,000 IPv6 bindings with every
/// length this took a hit from about 700-850 ns to 75-139 ns. We chose it over a deeper prefilter because its cost
/// is bounded by the number of lengths whatever the addresses (a prefilter only helps where bindings are sparse),
/// and its code is no longer than the probes it replaces (each length is one node of the tree), so the verifier's
/// limits hold as before. The price: markers make the table larger (1.6 to 2.6 more entries a binding with every
/// length), and a single bind or unbind in a searched class rebuilds the program, because a binding changes the best
/// matching prefix of every marker nested below it; <see cref="LengthSearch.Threshold"/> says why it is where it is.</para>
/// </remarks>
internal static class DispatcherProgram
{
    /// <summary>The program's name in the kernel.</summary>
    public const string Name = "sk_dispatcher";

    // Registers that live across helper calls (R6-R9 are callee-saved).
    private const Register Context = R6, Port = R7, Address4 = R8, DestinationId = R8, Counters = R9, Socket = R7, AssignResult = R8, SlotIndex = R9,
        OpaqueZero = R9;

    // Stack: the IPv4 key at fp-8, the IPv6 key at fp-24 (their paths never meet), a u32 array key at
    // fp-32, the address prefilter's mask at fp-40, and the index of a probe's second bucket at fp-48.
    private const short Key4 = -8, Key6 = -24, ScratchKey = -32, FilterMask = -40, SecondBucket = -48;

    // A searched class's best matching prefixes so far (LengthSearch values), one per search.
    private const short BestSpecific = -56, BestAny = -64;

    /// <summary>Generates the program for <paramref name="shape"/>.</summary>
    public static ProgramSpec Generate(DispatcherShape shape)
    {
        var asm = new Assembler();
        if (shape.Classes.Count == 0)
            return asm.Return(SkAction.Pass).Build(Name);
        // Each class is a fragment with its own delivery and exits, and each family's classes follow their own
        // dispatch, so that no jump spans more than one family's classes: a class with every prefix length is
        // tens of thousands of instructions, and BPF jump offsets are 16 bits.
        asm.Mov(Context, R1)
           .Load(Size.Word, R2, Context, SkLookupContext.Family)
           .Load(Size.Word, R3, Context, SkLookupContext.Protocol);
        var families = new[] { Family.IPv4, Family.IPv6 }.Where(f => shape.Classes.Any(c => c.Class.Family() == f)).ToList();
        for (var i = 0; i < families.Count; i++)
        {
            var family = families[i];
            var classes = shape.Classes.Where(c => c.Class.Family() == family).ToList();
            if (i + 1 < families.Count)
                asm.JumpIf32(R2, JumpOp.NotEqual, (int)family, $"not_{family}");
            else
                asm.JumpIf32(R2, JumpOp.Equal, (int)family, $"is_{family}").Return(SkAction.Pass).Label($"is_{family}");
            foreach (var classShape in classes)
                asm.JumpIf32(R3, JumpOp.Equal, (int)classShape.Class.Protocol(), ClassLabel(classShape.Class));
            asm.Return(SkAction.Pass);
            foreach (var classShape in classes)
            {
                var fragment = new Assembler();
                EmitClass(fragment, shape, classShape);
                EmitDelivery(fragment);
                asm.Label(ClassLabel(classShape.Class)).Append(fragment.Build(Name));
            }
            if (i + 1 < families.Count)
                asm.Label($"not_{family}");
        }
        return asm.Build(Name);
    }

    private static void EmitClass(Assembler asm, DispatcherShape dispatcher, ClassShape shape)
    {
        var family = shape.Class.Family();
        asm.Load(Size.Word, Port, Context, SkLookupContext.LocalPort);
        if (family == Family.IPv4)
            asm.Load(Size.Word, Address4, Context, SkLookupContext.LocalIp4);

        if (shape.Inline is not null)
        {
            // Zero at run time, but a value the verifier cannot know (a fresh context load): the trees' leaves add
            // their destination ids to it, so that found_id sees an unknown id from every leaf and the verifier checks
            // the delivery once. With a constant id from each leaf, a kernel that tracks constant array keys (this
            // 6.18 does) marks it precise and verifies the delivery again for every distinct id: 6,637 instructions for
            // 200 host bindings on 20 destinations, most of a bind's program load.
            asm.Load(Size.Word, OpaqueZero, Context, SkLookupContext.Family).Alu32(AluOp.Xor, OpaqueZero, (int)family);
            // A catch-all (a /0 for any port) matches every packet of the class, so nothing follows it:
            // code after it would be unreachable, and the verifier refuses unreachable instructions.
            if (!EmitInlineTrees(asm, shape))
                asm.Jump("pass");
            return;
        }

        EmitPrefilter(asm, family);
        if (shape.Search is not null)
        {
            EmitSearchClass(asm, dispatcher, shape);
            return;
        }
        // A hit jumps to found_id at the fragment's end, which may be more than 16 bits of offset away in a class
        // with every prefix length: probes jump to the nearest relay instead, a chain of jumps to found_id.
        var relays = new RelayChain($"{shape.Class}");
        var anyOnly = $"{shape.Class}_any_only";
        if (shape.HasSpecificPortProbes && shape.Probes.Count <= SeparateAnyPathLimit)
        {
            // The ports map rules out every specific-port probe with one inlined array access: a port without a
            // specific binding runs a copy of the probes with only the any-port ones.
            var withSpecific = $"{shape.Class}_with_port";
            EmitPortsLookup(asm, shape, anyOnly, withSpecific);
            asm.Label(anyOnly);
            EmitProbes(asm, dispatcher, shape, shape.Probes.Where(p => !p.SpecificPort), "any", relays);
            asm.Return(SkAction.Pass);
            relays.Emit(asm, last: false, inline: false);
            asm.Label(withSpecific);
        }
        else if (shape.HasSpecificPortProbes)
        {
            // Too many probes for two copies within 16-bit jumps: a port without a specific binding clears the
            // specific-port bits of the prefilter's mask instead, and each such probe is skipped by its bit.
            var withSpecific = $"{shape.Class}_with_port";
            EmitPortsLookup(asm, shape, anyOnly, withSpecific);
            asm.Label(anyOnly)
               .Load(Size.DoubleWord, R1, R10, FilterMask)
               .LoadImm64(R2, unchecked((long)AddressPrefilter.AnyPortBits))
               .Alu(AluOp.And, R1, R2)
               .JumpIf(R1, JumpOp.NotEqual, 0, $"{anyOnly}_some")
               .Return(SkAction.Pass)
               .Label($"{anyOnly}_some")
               .Store(Size.DoubleWord, R10, FilterMask, R1)
               .Label(withSpecific);
        }
        EmitProbes(asm, dispatcher, shape, shape.Probes, "all", relays);
        asm.Return(SkAction.Pass);
        relays.Emit(asm, last: true, inline: false);
    }

    /// <summary>Up to this many probes, a class has a second copy of its any-port probes for ports without a specific binding.</summary>
    private const int SeparateAnyPathLimit = 96;

    /// <summary>Looks the packet's port up in the ports map: to <paramref name="withSpecific"/> when the class has a binding on it, else to <paramref name="anyOnly"/>.</summary>
    private static void EmitPortsLookup(Assembler asm, ClassShape shape, string anyOnly, string withSpecific) =>
        asm.Store(Size.Word, R10, ScratchKey, Port)
           .LoadMapPointer(R1, DispatcherLayout.Ports.Name).Mov(R2, R10).Add(R2, ScratchKey)
           .Call(HelperFunction.MapLookupElem)
           .JumpIf(R0, JumpOp.Equal, 0, anyOnly)
           .Load(Size.Word, R1, R0, 0)
           .JumpIf32(R1, JumpOp.BitsSet, (int)shape.Class.PortBit(), withSpecific);

    /// <summary>
    /// Relays for jumps to found_id: a probe jumps to <see cref="Target"/>, the next relay, which jumps to the one
    /// after it, and the last to found_id; a relay is emitted only when something jumps to it (the verifier refuses
    /// unreachable code). A hit passes a relay per <see cref="Every"/> probes after it, one instruction each.
    /// </summary>
    private sealed class RelayChain(string prefix)
    {
        /// <summary>Probes between relays: far below 16 bits of offset at about 100 instructions a probe.</summary>
        public const int Every = 48;

        private int _index;
        private bool _used;

        /// <summary>The label of the next relay, which is then due.</summary>
        public string Target
        {
            get
            {
                _used = true;
                return Label(_index);
            }
        }

        /// <summary>Emits the next relay if it is due; <paramref name="inline"/> jumps over it, for a relay among probes.</summary>
        public void Emit(Assembler asm, bool last, bool inline)
        {
            if (!_used)
                return;
            var label = Label(_index++);
            _used = false;
            if (inline)
                asm.Jump($"{label}_over");
            asm.Label(label).Jump(last ? "found_id" : Target);
            if (inline)
                asm.Label($"{label}_over");
        }

        private string Label(int index) => $"{prefix}_relay{index}";
    }

    /// <summary>Loads the address prefilter's mask for the destination into the stack slot at <see cref="FilterMask"/>; an empty mask is a miss.</summary>
    private static void EmitPrefilter(Assembler asm, Family family)
    {
        if (family == Family.IPv4)
        {
            asm.Mov32(R1, Address4).Alu32(AluOp.And, R1, 0xffff);
        }
        else
        {
            asm.Load(Size.Word, R1, Context, SkLookupContext.LocalIp6)
               .LoadImm64(R2, unchecked((long)ProbeTable.Multiplier))
               .Alu(AluOp.Mul, R1, R2)
               .Alu(AluOp.RightShift, R1, 48);
        }
        asm.Store(Size.Word, R10, ScratchKey, R1)
           .LoadMapPointer(R1, AddressPrefilter.MapName(family)).Mov(R2, R10).Add(R2, ScratchKey)
           .Call(HelperFunction.MapLookupElem)
           .JumpIf(R0, JumpOp.NotEqual, 0, "prefilter_bucket")
           .Return(SkAction.Pass) // Returns here, not at the fragment's end, which may be out of jump range.
           .Label("prefilter_bucket")
           .Load(Size.DoubleWord, R1, R0, 0)
           .JumpIf(R1, JumpOp.NotEqual, 0, "prefilter_hit")
           .Return(SkAction.Pass)
           .Label("prefilter_hit")
           .Store(Size.DoubleWord, R10, FilterMask, R1);
    }

    private static void EmitProbes(Assembler asm, DispatcherShape dispatcher, ClassShape shape, IEnumerable<HashProbe> probes, string path, RelayChain relays)
    {
        var family = shape.Class.Family();
        var v4 = family == Family.IPv4;
        var table = dispatcher.Tables[family];
        var keyOffset = v4 ? Key4 : Key6;
        var probeIndex = 0;
        foreach (var probe in probes)
        {
            var skip = $"{shape.Class}_{path}{probeIndex}_skip";
            asm.Load(Size.DoubleWord, R1, R10, FilterMask)
               .Alu(AluOp.RightShift, R1, AddressPrefilter.Bit(family, probe.PrefixLength, probe.SpecificPort))
               .JumpIf32(R1, JumpOp.BitsSet, 1, $"{skip}_probe");
            asm.Jump(skip).Label($"{skip}_probe");
            EmitProbeKey(asm, shape.Class, probe);
            EmitTableLookup(asm, family, table.Bits, keyOffset, $"{shape.Class}_{path}{probeIndex++}", relays.Target, DestinationId);
            asm.Label(skip);
            if (probeIndex % RelayChain.Every == 0)
                relays.Emit(asm, last: false, inline: true);
        }
    }

    /// <summary>Builds the key of <paramref name="probe"/> for the packet on the stack (at <see cref="Key4"/> or <see cref="Key6"/>).</summary>
    private static void EmitProbeKey(Assembler asm, TrafficClass trafficClass, HashProbe probe)
    {
        var family = trafficClass.Family();
        var keyOffset = family == Family.IPv4 ? Key4 : Key6;
        var keySize = BindingKey.Size(family);
        var tail = (int)BindingKey.Tail(0, trafficClass.Protocol(), probe.PrefixLength);
        if (family == Family.IPv4)
        {
            EmitMaskedWord(asm, probe.PrefixLength, 0, () => asm.Mov32(R1, Address4));
            asm.Store(Size.Word, R10, Key4, R1);
        }
        else
        {
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
        asm.Store(Size.Word, R10, (short)(keyOffset + keySize - 4), R1);
    }

    /// <summary>
    /// A class of <see cref="LengthSearch"/> form: the search of the specific-port keys (when the ports map says that
    /// the class has a binding on the packet's port, and the prefilter has a specific-port bit), then the search of
    /// the any-port keys, each recording its best matching prefix on the stack; then the longer of the two wins, the
    /// specific one on an equal length. Each search is a tree of probes: a probe's miss falls through to the
    /// shorter half, its hit records the entry's value and goes on to the longer half. Every length appears once in
    /// the tree, so the code is as long as one probe per length, and a lookup runs about log2(n) + 1 probes a search.
    /// </summary>
    private static void EmitSearchClass(Assembler asm, DispatcherShape dispatcher, ClassShape shape)
    {
        var search = shape.Search!;
        var prefix = $"{shape.Class}_bs";
        var any = $"{prefix}_any";
        var combine = $"{prefix}_combine";
        asm.Store(Size.Word, R10, BestSpecific, 0).Store(Size.Word, R10, BestAny, 0);
        if (search.SpecificLengths.Length > 0)
        {
            var specific = $"{prefix}_specific";
            EmitPortsLookup(asm, shape, any, specific);
            asm.Jump(any)
               .Label(specific)
               .Load(Size.DoubleWord, R1, R10, FilterMask)
               .LoadImm64(R2, unchecked((long)~AddressPrefilter.AnyPortBits))
               .Alu(AluOp.And, R1, R2)
               .JumpIf(R1, JumpOp.Equal, 0, any);
            EmitSearchNode(asm, dispatcher, shape, search.SpecificLengths, 0, search.SpecificLengths.Length - 1, true, $"{prefix}_s", any);
        }
        asm.Label(any);
        if (search.AnyLengths.Length > 0)
        {
            asm.Load(Size.DoubleWord, R1, R10, FilterMask)
               .LoadImm64(R2, unchecked((long)AddressPrefilter.AnyPortBits))
               .Alu(AluOp.And, R1, R2)
               .JumpIf(R1, JumpOp.Equal, 0, combine);
            EmitSearchNode(asm, dispatcher, shape, search.AnyLengths, 0, search.AnyLengths.Length - 1, false, $"{prefix}_a", combine);
        }
        // The values compare by their top 16 bits (the flag, then the length): the any-port answer wins only when longer.
        asm.Label(combine)
           .Load(Size.Word, R1, R10, BestSpecific)
           .Load(Size.Word, R2, R10, BestAny)
           .JumpIf32(R1, JumpOp.Equal, 0, $"{prefix}_use_any")
           .Mov32(R3, R1).Alu32(AluOp.RightShift, R3, 16)
           .Mov32(R4, R2).Alu32(AluOp.RightShift, R4, 16)
           .JumpIf32(R3, JumpOp.Less, R4, $"{prefix}_use_any")
           .Mov32(DestinationId, R1).Alu32(AluOp.And, DestinationId, 0xffff)
           .Jump("found_id")
           .Label($"{prefix}_use_any")
           .JumpIf32(R2, JumpOp.Equal, 0, "pass")
           .Mov32(DestinationId, R2).Alu32(AluOp.And, DestinationId, 0xffff)
           .Jump("found_id");
    }

    /// <summary>The search over <paramref name="lengths"/>[lo..hi]: a probe of the middle length, its miss falling through to the shorter half, its hit to the longer.</summary>
    private static void EmitSearchNode(Assembler asm, DispatcherShape dispatcher, ClassShape shape, int[] lengths, int lo, int hi, bool specificPort,
        string prefix, string done)
    {
        if (lo > hi)
        {
            asm.Jump(done);
            return;
        }
        var family = shape.Class.Family();
        var middle = LengthSearch.Middle(lo, hi);
        var node = $"{prefix}{middle}";
        // The prefilter's bit for this length covers the node's markers too: without it, nothing is here (a miss).
        asm.Load(Size.DoubleWord, R1, R10, FilterMask)
           .Alu(AluOp.RightShift, R1, AddressPrefilter.Bit(family, lengths[middle], specificPort))
           .JumpIf32(R1, JumpOp.BitsSet, 1, $"{node}_probe")
           .Jump($"{node}_miss")
           .Label($"{node}_probe");
        EmitProbeKey(asm, shape.Class, new HashProbe(lengths[middle], specificPort));
        EmitTableLookup(asm, family, dispatcher.Tables[family].Bits, family == Family.IPv4 ? Key4 : Key6, node, $"{node}_hit", R1);
        EmitSearchNode(asm, dispatcher, shape, lengths, lo, middle - 1, specificPort, prefix, done);
        asm.Label($"{node}_hit").Store(Size.Word, R10, specificPort ? BestSpecific : BestAny, R1);
        EmitSearchNode(asm, dispatcher, shape, lengths, middle + 1, hi, specificPort, prefix, done);
    }

    /// <summary>
    /// Looks the key at <paramref name="keyOffset"/> up in the probe table, as <see cref="ProbeTable"/> lays it
    /// out: the first bucket's slots, then (only when the first bucket has no empty slot) the second's. A hit
    /// jumps to found_id with the destination in R8. The key is held in registers (two double words and the
    /// tail for IPv6), so a slot costs one load and two compares until its tail matches. The first bucket,
    /// where nearly every key lives (the table is at most half full), is unrolled; the second is a bounded
    /// loop of four turns, which keeps a probe short enough that a class with every prefix length (258 probes)
    /// keeps every jump within the 16-bit offsets that BPF allows.
    /// </summary>
    private static void EmitTableLookup(Assembler asm, Family family, int bits, short keyOffset, string prefix, string found, Register value)
    {
        var keySize = BindingKey.Size(family);
        var slotSize = ProbeTable.SlotSize(family);
        var v4 = family == Family.IPv4;
        var miss = $"{prefix}_miss";
        var loop = $"{prefix}_loop";
        var loopNext = $"{prefix}_lnext";
        // The hash of ProbeTable.Hash; the buckets of ProbeTable.Homes.
        asm.Load(Size.DoubleWord, R1, R10, keyOffset)
           .LoadImm64(R2, unchecked((long)ProbeTable.Multiplier))
           .Alu(AluOp.Mul, R1, R2);
        if (!v4)
        {
            asm.Load(Size.DoubleWord, R3, R10, (short)(keyOffset + 8)).Alu(AluOp.Xor, R1, R3).Alu(AluOp.Mul, R1, R2)
               .Load(Size.Word, R3, R10, (short)(keyOffset + 16)).Alu(AluOp.Xor, R1, R3).Alu(AluOp.Mul, R1, R2);
        }
        // The second bucket: the top bits of (hash ^ hash >> 32) * Multiplier, with the multiplier still in R2.
        asm.Mov(R3, R1).Alu(AluOp.RightShift, R3, 32).Alu(AluOp.Xor, R3, R1).Alu(AluOp.Mul, R3, R2)
           .Alu(AluOp.RightShift, R3, 64 - bits)
           .Store(Size.Word, R10, SecondBucket, R3)
           .Alu(AluOp.RightShift, R1, 64 - bits)
           .Store(Size.Word, R10, ScratchKey, R1);
        EmitBucketLookup(asm, family, keyOffset, miss);
        // The first bucket, unrolled: an empty slot proves the key is nowhere (slots are never emptied again).
        for (var slot = 0; slot < ProbeTable.SlotsPerBucket; slot++)
        {
            var at = (short)(slot * slotSize);
            var next = $"{prefix}_s{slot + 1}";
            asm.Load(Size.Word, R1, R0, (short)(at + keySize - 4))
               .JumpIf32(R1, JumpOp.Equal, 0, miss)
               .JumpIf32(R1, JumpOp.NotEqual, R4, next);
            EmitSlotCompare(asm, v4, keySize, R0, at, next, found, value);
            asm.Label(next);
        }
        // Full: the key may be in its second bucket.
        asm.Load(Size.Word, R1, R10, SecondBucket)
           .Store(Size.Word, R10, ScratchKey, R1);
        EmitBucketLookup(asm, family, keyOffset, miss);
        asm.Mov(SlotIndex, 0)
           .Label(loop)
           .Mov(R1, SlotIndex).Alu(AluOp.Mul, R1, slotSize).Mov(R5, R0).Add(R5, R1)
           .Load(Size.Word, R1, R5, (short)(keySize - 4))
           .JumpIf32(R1, JumpOp.Equal, 0, miss)
           .JumpIf32(R1, JumpOp.NotEqual, R4, loopNext);
        EmitSlotCompare(asm, v4, keySize, R5, 0, loopNext, found, value);
        asm.Label(loopNext)
           .Add(SlotIndex, 1)
           .JumpIf(SlotIndex, JumpOp.Less, ProbeTable.SlotsPerBucket, loop)
           .Label(miss);
    }

    /// <summary>
    /// Looks up the bucket whose index is at <see cref="ScratchKey"/> (the inlined array access) into R0, then
    /// loads the key into registers: its address part into R2 (IPv4: the word; IPv6: the first double word) and
    /// R3 (IPv6: the second), its tail into R4. The lookup clobbers R1-R5, so this follows it.
    /// </summary>
    private static void EmitBucketLookup(Assembler asm, Family family, short keyOffset, string miss)
    {
        var keySize = BindingKey.Size(family);
        asm.LoadMapPointer(R1, ProbeTable.MapName(family)).Mov(R2, R10).Add(R2, ScratchKey)
           .Call(HelperFunction.MapLookupElem)
           .JumpIf(R0, JumpOp.Equal, 0, miss)
           .Load(Size.Word, R4, R10, (short)(keyOffset + keySize - 4));
        if (family == Family.IPv4)
            asm.Load(Size.Word, R2, R10, keyOffset);
        else
            asm.Load(Size.DoubleWord, R2, R10, keyOffset).Load(Size.DoubleWord, R3, R10, (short)(keyOffset + 8));
    }

    /// <summary>
    /// The slot at <paramref name="slot"/> + <paramref name="at"/> has the key's tail: compares its address part with
    /// R2 (and R3); equal jumps to <paramref name="found"/> (found_id, a relay to it, or a search node's hit) with the slot's value in <paramref name="value"/>, else to <paramref name="next"/>.
    /// </summary>
    private static void EmitSlotCompare(Assembler asm, bool v4, int keySize, Register slot, short at, string next, string found, Register value)
    {
        if (v4)
        {
            asm.Load(Size.Word, R1, slot, at).JumpIf32(R1, JumpOp.NotEqual, R2, next);
        }
        else
        {
            asm.Load(Size.DoubleWord, R1, slot, at).JumpIf(R1, JumpOp.NotEqual, R2, next)
               .Load(Size.DoubleWord, R1, slot, (short)(at + 8)).JumpIf(R1, JumpOp.NotEqual, R3, next);
        }
        asm.Load(Size.Word, value, slot, (short)(at + keySize)).Jump(found);
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

    /// <summary>
    /// Compiles a class's bindings into decision trees: for each probe (prefix length, specific port or
    /// not) in precedence order, a binary search over the key's 32-bit components (the port, then each
    /// masked address word). No helper call is made, so a lookup costs a few compares per level.
    /// Returns true when the last tree matches unconditionally (a /0 for any port, which has nothing to
    /// compare), so that every path has ended and no code may follow.
    /// </summary>
    private static bool EmitInlineTrees(Assembler asm, ClassShape shape)
    {
        var v4 = shape.Class.Family() == Family.IPv4;
        var probes = shape.Inline!
            .GroupBy(entry => new HashProbe(entry.Match.Prefix.PrefixLength, entry.Match.Port != 0))
            .OrderByDescending(group => group.Key.PrefixLength).ThenByDescending(group => group.Key.SpecificPort);
        var probeIndex = 0;
        foreach (var probe in probes)
        {
            var next = $"{shape.Class}_tree_{probeIndex++}_miss";
            var keyed = probe.Select(entry => (Key: KeyComponents(entry.Match, v4), entry.DestinationId)).ToList();
            var words = Enumerable.Range(0, v4 ? 1 : 4).Where(word => DispatcherShape.MaskWord(probe.Key.PrefixLength, word) != 0).ToArray();
            // Each level loads its word from the context, not from the copies in R7 and R8: a copy shares the
            // verifier's identity with its source, so every compare would narrow R7 or R8 too, the states after
            // each tree's misses would all differ, and a few hundred bindings in a hundred trees made the verifier
            // give up after a million instructions (E2BIG). A context load is a fresh value: the misses prune.
            var levels = new List<Action>();
            if (probe.Key.SpecificPort)
                levels.Add(() => asm.Load(Size.Word, R1, Context, SkLookupContext.LocalPort));
            foreach (var word in words)
            {
                var field = (short)(SkLookupContext.LocalIp6 + word * 4);
                levels.Add(() => EmitMaskedWord(asm, probe.Key.PrefixLength, word, v4 ? () => asm.Load(Size.Word, R1, Context, SkLookupContext.LocalIp4) : () => asm.Load(Size.Word, R1, Context, field)));
            }
            var labelCounter = 0;
            EmitTreeLevel(asm, keyed, level: 0, levels, next, $"{shape.Class}_t{probeIndex}", ref labelCounter);
            if (levels.Count == 0)
                return true; // The catch-all jumped to its destination, and it is the last probe in precedence order.
            asm.Label(next);
        }
        return false;
    }

    /// <summary>The 32-bit components the trees compare, in order: the port (specific probes only), then each masked address word.</summary>
    private static uint[] KeyComponents(BindingMatch match, bool v4)
    {
        Span<byte> address = stackalloc byte[16];
        match.Prefix.BaseAddress.TryWriteBytes(address, out var size);
        var components = new List<uint>(5);
        if (match.Port != 0)
            components.Add(match.Port);
        for (var word = 0; word < size / 4; word++)
            if (DispatcherShape.MaskWord(match.Prefix.PrefixLength, word) != 0)
                components.Add(BinaryPrimitives.ReadUInt32LittleEndian(address.Slice(word * 4, 4)));
        return [.. components];
    }

    private static void EmitTreeLevel(Assembler asm, List<(uint[] Key, uint DestinationId)> entries, int level, List<Action> levels,
        string miss, string prefix, ref int labelCounter)
    {
        if (level == levels.Count)
        {
            // Keys are unique, so one entry reaches the last level.
            asm.Mov32(DestinationId, OpaqueZero).Alu32(AluOp.Add, DestinationId, (int)entries[0].DestinationId).Jump("found_id");
            return;
        }
        levels[level]();
        var groups = entries.GroupBy(entry => entry.Key[level]).OrderBy(group => group.Key).ToList();
        EmitSearch(asm, groups, 0, groups.Count, level, levels, miss, prefix, ref labelCounter);
    }

    /// <summary>A binary search over the sorted distinct values of one component, held in W1.</summary>
    private static void EmitSearch(Assembler asm, List<IGrouping<uint, (uint[] Key, uint DestinationId)>> groups, int from, int to, int level,
        List<Action> levels, string miss, string prefix, ref int labelCounter)
    {
        if (to - from <= 2)
        {
            var hits = new List<(string Label, IGrouping<uint, (uint[] Key, uint DestinationId)> Group)>();
            for (var i = from; i < to; i++)
            {
                var hit = $"{prefix}_{labelCounter++}";
                asm.JumpIf32(R1, JumpOp.Equal, (int)groups[i].Key, hit);
                hits.Add((hit, groups[i]));
            }
            asm.Jump(miss);
            foreach (var (hit, group) in hits)
            {
                asm.Label(hit);
                EmitTreeLevel(asm, group.ToList(), level + 1, levels, miss, prefix, ref labelCounter);
            }
            return;
        }
        var middle = (from + to) / 2;
        var upper = $"{prefix}_{labelCounter++}";
        asm.JumpIf32(R1, JumpOp.GreaterOrEqual, (int)groups[middle].Key, upper);
        EmitSearch(asm, groups, from, middle, level, levels, miss, prefix, ref labelCounter);
        asm.Label(upper);
        EmitSearch(asm, groups, middle, to, level, levels, miss, prefix, ref labelCounter);
    }

    /// <summary>Counts the lookup, then assigns the destination's socket, or drops (or falls through) without one.</summary>
    private static void EmitDelivery(Assembler asm)
    {
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
           .AssignSocket(Context, Socket, AssignResult, "assign_failed")
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
