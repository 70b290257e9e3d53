using System.Buffers.Binary;
using SkLookup.Bpf.Asm;

namespace SkLookup.Bpf.Tests.Elf;

/// <summary>Reading the committed objects into specs, without the kernel: every program, map, variable and reference.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class ElfReaderTests
{
    private static readonly string[] SuiteLookupPrograms =
    [
        "lookup_pass", "lookup_drop", "check_ifindex", "redir_port", "redir_ip4", "redir_ip6", "select_sock_a",
        "select_sock_a_no_reuseport", "sk_assign_eexist", "sk_assign_replace_flag", "sk_assign_null", "access_ctx_sk",
        "ctx_narrow_access", "sk_assign_esocknosupport", "multi_prog_pass1", "multi_prog_pass2", "multi_prog_drop1",
        "multi_prog_drop2", "multi_prog_redir1", "multi_prog_redir2",
    ];

    private static readonly string[] SuiteReuseportPrograms = ["reuseport_pass", "reuseport_drop", "select_sock_b"];

    [Fact]
    public void SuiteSplitsEachSectionIntoOneProgramPerFunction()
    {
        var spec = BpfObjects.Read(BpfObjects.Suite);

        Assert.Equal(SuiteLookupPrograms.Concat(SuiteReuseportPrograms).Order(), spec.Programs.Keys.Order());
        foreach (var name in SuiteLookupPrograms)
        {
            var program = spec.Programs[name];
            Assert.Equal(name, program.Name);
            Assert.Equal("sk_lookup", program.SectionName);
            Assert.Equal(ProgramType.SkLookup, program.Type);
            Assert.Equal(AttachType.SkLookup, program.ExpectedAttachType);
            Assert.Equal("Dual BSD/GPL", program.License);
        }
        foreach (var name in SuiteReuseportPrograms)
        {
            var program = spec.Programs[name];
            Assert.Equal("sk_reuseport", program.SectionName);
            Assert.Equal(ProgramType.SkReuseport, program.Type);
            Assert.Equal(AttachType.SkReuseportSelect, program.ExpectedAttachType);
        }
        // The plain verdict programs are "return SK_PASS/SK_DROP": w0 = verdict; exit.
        Assert.Equal([Mov32(1), Exit], spec.Programs["lookup_pass"].Instructions);
        Assert.Equal([Mov32(0), Exit], spec.Programs["lookup_drop"].Instructions);
    }

    [Fact]
    public void SuiteMapsHaveTheDeclaredShapes()
    {
        var maps = BpfObjects.Read(BpfObjects.Suite).Maps;

        Assert.Equal([".bss", ".data", ".rodata", "redir_map", "run_map"], maps.Keys.Order(StringComparer.Ordinal));
        AssertMap(maps["redir_map"], MapType.SockMap, 4, 8, 32);
        AssertMap(maps["run_map"], MapType.Array, 4, 4, 2);
        Assert.All(new[] { maps["redir_map"], maps["run_map"] }, map =>
        {
            Assert.Equal(MapFlags.None, map.Flags);
            Assert.Equal(MapPinning.None, map.Pinning);
            Assert.Empty(map.Contents);
            Assert.False(map.Freeze);
        });
    }

    [Fact]
    public void SuiteGlobalDataBecomesOneEntryArrayMaps()
    {
        var spec = BpfObjects.Read(BpfObjects.Suite);

        var rodata = spec.Maps[".rodata"];
        AssertMap(rodata, MapType.Array, 4, 68, 1);
        Assert.Equal(MapFlags.ReadOnlyProgram, rodata.Flags);
        Assert.True(rodata.Freeze);
        var (key, value) = Assert.Single(rodata.Contents);
        Assert.Equal(new byte[4], key);
        Assert.Equal(7007, BinaryPrimitives.ReadUInt16LittleEndian(Variable(spec, value, "dst_port")));
        Assert.Equal(new byte[] { 127, 0, 0, 1 }, Variable(spec, value, "dst_ip4"));
        Assert.Equal(8008, BinaryPrimitives.ReadUInt16BigEndian(Variable(spec, value, "src_port_be")));
        Assert.Equal(new byte[] { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 }, Variable(spec, value, "src_ip6"));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(Variable(spec, value, "slot_server_b")));

        var data = spec.Maps[".data"];
        AssertMap(data, MapType.Array, 4, 4, 1);
        Assert.Equal(MapFlags.None, data.Flags);
        Assert.False(data.Freeze);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(Variable(spec, Assert.Single(data.Contents).Value, "drop_ifindex")));

        var bss = spec.Maps[".bss"];
        AssertMap(bss, MapType.Array, 4, 8, 1);
        Assert.False(bss.Freeze);
        Assert.Equal(new byte[8], Assert.Single(bss.Contents).Value);

        Assert.Equal(new VariableSpec("dst_port", ".rodata", 0, 2, IsConstant: true), spec.Variables["dst_port"]);
        Assert.Equal(new VariableSpec("dst_ip6", ".rodata", 8, 16, IsConstant: true), spec.Variables["dst_ip6"]);
        Assert.Equal(new VariableSpec("drop_ifindex", ".data", 0, 4, IsConstant: false), spec.Variables["drop_ifindex"]);
        Assert.Equal(".bss", spec.Variables["last_assign_err"].MapName);
        Assert.Equal(".bss", spec.Variables["narrow_fail_step"].MapName);
        Assert.Equal(14, spec.Variables.Count);
    }

    [Fact]
    public void MapReferencesPointAtTheLoadsOfMapsAndGlobals()
    {
        var spec = BpfObjects.Read(BpfObjects.Suite);
        var program = spec.Programs["redir_port"];

        // if (ctx->local_port != dst_port) ...; bpf_map_lookup_elem(&redir_map, &slot_server_a)
        Assert.Contains(new MapReference(3, ".rodata", spec.Variables["dst_port"].Offset, IsValue: true), program.MapReferences);
        Assert.Contains(new MapReference(7, "redir_map"), program.MapReferences);
        Assert.Contains(new MapReference(9, ".rodata", spec.Variables["slot_server_a"].Offset, IsValue: true), program.MapReferences);
        Assert.Equal(3, program.MapReferences.Count);
        AssertReferencesAreMarkedLoads(program);

        var checkIfindex = spec.Programs["check_ifindex"];
        Assert.Equal([new MapReference(0, ".data", 0, IsValue: true)], checkIfindex.MapReferences);

        // Every reference of every program names a map of the collection.
        foreach (var each in spec.Programs.Values)
        {
            AssertReferencesAreMarkedLoads(each);
            Assert.All(each.MapReferences, reference => Assert.Contains(reference.MapName, spec.Maps.Keys));
        }
    }

    [Fact]
    public void Bpf2BpfAppendsEachCalledFunctionAndPointsTheCallsAtIt()
    {
        var spec = BpfObjects.Read(BpfObjects.Bpf2Bpf);

        Assert.Equal(["steer_by_port", "steer_by_protocol"], spec.Programs.Keys.Order());
        Assert.All(spec.Programs.Values, p => Assert.Equal("sk_lookup/" + p.Name, p.SectionName));
        var byPort = spec.Programs["steer_by_port"];
        var byProtocol = spec.Programs["steer_by_protocol"];

        // steer_by_port calls steer_to_slot only; steer_by_protocol calls slot_for_protocol, then steer_to_slot.
        var byPortCalls = CallTargets(byPort);
        var byProtocolCalls = CallTargets(byProtocol);
        var steerToSlot = Assert.Single(byPortCalls);
        Assert.Equal(2, byProtocolCalls.Count);
        Assert.Equal(21, byPort.Instructions.Count - steerToSlot); // steer_to_slot is 21 slots, appended last.

        // The same function is copied into both programs, map reference and all.
        var steerInByProtocol = byProtocolCalls[1];
        Assert.Equal(byPort.Instructions.Skip(steerToSlot), byProtocol.Instructions.Skip(steerInByProtocol).Take(21));
        Assert.Contains(new MapReference(steerToSlot + 4, "steer_map"), byPort.MapReferences);
        Assert.Contains(new MapReference(steerInByProtocol + 4, "steer_map"), byProtocol.MapReferences);

        // slot_for_protocol is appended to steer_by_protocol only: "ctx->protocol == IPPROTO_UDP ? 1 : 0".
        var slotForProtocol = byProtocolCalls[0];
        Assert.Equal(new Instruction(0x61, Register.R1, Register.R1, 12, 0), byProtocol.Instructions[slotForProtocol]);
        Assert.Equal(6 + 5 + 21, byProtocol.Instructions.Count);

        AssertMap(spec.Maps["steer_map"], MapType.SockMap, 4, 8, 2);
        Assert.Equal(new VariableSpec("steer_port", ".rodata", 0, 4, IsConstant: true), spec.Variables["steer_port"]);
        Assert.Contains(new MapReference(2, ".rodata", 0, IsValue: true), byPort.MapReferences);
    }

    [Fact]
    public void LegacyMapsAreReadFromTheMapsSection()
    {
        var spec = BpfObjects.Read(BpfObjects.LegacyMaps);

        Assert.Equal(["legacy_hits", "legacy_sockets"], spec.Maps.Keys.Order());
        AssertMap(spec.Maps["legacy_sockets"], MapType.SockMap, 4, 8, 4);
        AssertMap(spec.Maps["legacy_hits"], MapType.Array, 4, 8, 1);
        Assert.All(spec.Maps.Values, map => Assert.Equal(MapFlags.None, map.Flags));
        var program = Assert.Single(spec.Programs.Values);
        Assert.Equal("legacy_select", program.Name);
        Assert.Equal(["legacy_hits", "legacy_sockets"], program.MapReferences.Select(r => r.MapName));
        Assert.All(program.MapReferences, r => Assert.False(r.IsValue));
        Assert.Empty(spec.Variables);
    }

    [Fact]
    public void PinningByNameIsReadFromTheBtfMapDefinition()
    {
        var spec = BpfObjects.Read(BpfObjects.PinnedMaps);

        AssertMap(spec.Maps["pinned_sockets"], MapType.SockMap, 4, 8, 16);
        AssertMap(spec.Maps["pinned_hits"], MapType.Array, 4, 8, 1);
        AssertMap(spec.Maps["unpinned_scratch"], MapType.Hash, 4, 4, 8);
        Assert.Equal(MapPinning.ByName, spec.Maps["pinned_sockets"].Pinning);
        Assert.Equal(MapPinning.ByName, spec.Maps["pinned_hits"].Pinning);
        Assert.Equal(MapPinning.None, spec.Maps["unpinned_scratch"].Pinning);
        Assert.Equal(["pinned_hits", "pinned_sockets", "unpinned_scratch"],
            spec.Programs["pinned_select"].MapReferences.Select(r => r.MapName).Order());
    }

    [Fact]
    public void CoreRelocationsAreRefusedNamingSectionAndSymbol()
    {
        var error = Assert.Throws<BpfObjectException>(() => BpfObjects.Read(BpfObjects.CoreReloc));

        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal("core_reloc.o", error.ObjectName);
        Assert.Equal("sk_lookup/core_port_gate", error.Section);
        Assert.Equal("core_port_gate", error.Symbol);
        Assert.StartsWith("object core_reloc.o: section sk_lookup/core_port_gate, symbol core_port_gate: CO-RE relocations are not supported", error.Message);
        Assert.Contains("struct bpf_sk_lookup___local", error.Message);
    }

    [Fact]
    public void ReadingFromBytesGivesTheSameSpecAsFromAFile()
    {
        var fromFile = BpfObjects.Read(BpfObjects.Suite);
        var fromBytes = ElfReader.Read(BpfObjects.Bytes(BpfObjects.Suite), "suite");

        SpecComparison.AssertEquivalent(fromFile, fromBytes);
    }

    [Fact]
    public void RewriteConstantsChangesOnlyTheNamedBytesOfRodata()
    {
        var original = BpfObjects.Read(BpfObjects.Suite);
        var spec = original.Copy();

        spec.RewriteConstants(new Dictionary<string, object>
        {
            ["dst_port"] = 9009,
            ["dst_ip4"] = new byte[] { 10, 0, 0, 1 },
            ["slot_server_b"] = (byte)7,
        });

        var before = original.Maps[".rodata"].Contents[0].Value;
        var after = spec.Maps[".rodata"].Contents[0].Value;
        Assert.Equal(9009, BinaryPrimitives.ReadUInt16LittleEndian(Variable(spec, after, "dst_port")));
        Assert.Equal(new byte[] { 10, 0, 0, 1 }, Variable(spec, after, "dst_ip4"));
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(Variable(spec, after, "slot_server_b")));
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        Assert.All(changed, i => Assert.True(i < 8 || (i >= 52 && i < 56), $"byte {i} changed"));
        // The copy it came from keeps the compiled-in values, and the programs are untouched.
        Assert.Equal(7007, BinaryPrimitives.ReadUInt16LittleEndian(Variable(original, before, "dst_port")));
        Assert.Same(original.Programs["redir_port"], spec.Programs["redir_port"]);
    }

    [Theory]
    [InlineData("no_such_constant", 1, BpfErrorReason.NotFound)]
    [InlineData("drop_ifindex", 1, BpfErrorReason.InvalidArgument)]
    [InlineData("dst_port", 70000, BpfErrorReason.InvalidArgument)]
    [InlineData("dst_port", -40000, BpfErrorReason.InvalidArgument)]
    [InlineData("dst_port", "7007", BpfErrorReason.InvalidArgument)]
    public void RewriteConstantsRefusesWhatItCannotWrite(string name, object value, BpfErrorReason reason)
    {
        var spec = BpfObjects.Read(BpfObjects.Suite);
        var before = spec.Maps[".rodata"];

        var error = Assert.Throws<BpfException>(() => spec.RewriteConstants(new Dictionary<string, object> { ["dst_ip4"] = 5u, [name] = value }));

        Assert.Equal(reason, error.Reason);
        Assert.Contains(name, error.Message);
        Assert.Same(before, spec.Maps[".rodata"]); // All or nothing: dst_ip4 was not written either.
    }

    [Fact]
    public void RewriteConstantsTakesNegativeNumbersAndExactByteArrays()
    {
        var spec = BpfObjects.Read(BpfObjects.Suite);

        spec.RewriteConstants(new Dictionary<string, object> { ["dst_port"] = (short)-1, ["src_ip6"] = new byte[16] });
        Assert.Throws<BpfException>(() => spec.RewriteConstants(new Dictionary<string, object> { ["src_ip6"] = new byte[15] }));

        var value = spec.Maps[".rodata"].Contents[0].Value;
        Assert.Equal(0xffff, BinaryPrimitives.ReadUInt16LittleEndian(Variable(spec, value, "dst_port")));
        Assert.Equal(new byte[16], Variable(spec, value, "src_ip6"));
    }

    private static Instruction Mov32(int value) => new(0xb4, Register.R0, Register.R0, 0, value);

    private static readonly Instruction Exit = new(OpCodes.Exit, Register.R0, Register.R0, 0, 0);

    private static void AssertMap(MapSpec map, MapType type, uint keySize, uint valueSize, uint maxEntries)
    {
        Assert.Equal(type, map.Type);
        Assert.Equal(keySize, map.KeySize);
        Assert.Equal(valueSize, map.ValueSize);
        Assert.Equal(maxEntries, map.MaxEntries);
    }

    private static byte[] Variable(CollectionSpec spec, byte[] value, string name)
    {
        var variable = spec.Variables[name];
        return value.AsSpan(variable.Offset, variable.Size).ToArray();
    }

    /// <summary>Each map reference's LD_IMM64 carries the pseudo source the kernel expects, as the assembler writes it.</summary>
    private static void AssertReferencesAreMarkedLoads(ProgramSpec program)
    {
        foreach (var reference in program.MapReferences)
        {
            var load = program.Instructions[reference.InstructionIndex];
            Assert.True(load.IsLoadImm64);
            Assert.Equal(reference.IsValue ? OpCodes.PseudoMapValue : OpCodes.PseudoMapFd, (byte)load.Source);
            Assert.Equal(reference.IsValue ? reference.Offset : 0, program.Instructions[reference.InstructionIndex + 1].Immediate);
        }
    }

    /// <summary>The instruction index each bpf-to-bpf call of the program jumps to, in call order.</summary>
    private static List<int> CallTargets(ProgramSpec program)
    {
        var targets = new List<int>();
        for (var i = 0; i < program.Instructions.Count; i++)
        {
            if (program.Instructions[i].IsFunctionCall)
                targets.Add(i + 1 + program.Instructions[i].Immediate);
        }
        return targets;
    }
}
