using System.Buffers.Binary;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;
using static SkLookup.Bpf.Tests.Elf.ElfBuilder;

namespace SkLookup.Bpf.Tests.Elf;

/// <summary>
/// Objects written by <see cref="ElfBuilder"/>: the variations between compilers (section and symbol order, call
/// encodings, missing optional sections) read the same, and the features the loader refuses give clear errors.
/// </summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class ElfSyntheticObjectTests
{
    private static Instruction Mov(Register dst, int value) => new(0xb7, dst, R0, 0, value);
    private static Instruction Load32(Register dst, Register src, short offset) => new(0x61, dst, src, offset, 0);
    private static readonly Instruction Exit = new(OpCodes.Exit, R0, R0, 0, 0);
    private static Instruction CallHelper(int id) => new(OpCodes.Call, R0, R0, 0, id);
    private static Instruction PseudoCall(int immediate) => new(OpCodes.Call, R0, (Register)OpCodes.PseudoCall, 0, immediate);
    private static Instruction[] LoadImm64(Register dst, int immediate, byte source = 0) =>
        [new(OpCodes.LoadImm64, dst, (Register)source, 0, immediate), new(0, R0, R0, 0, 0)];

    private static byte[] LegacyMapDefinition(MapType type, uint keySize, uint valueSize, uint maxEntries, uint flags = 0, int size = 20)
    {
        var definition = new byte[size];
        BinaryPrimitives.WriteUInt32LittleEndian(definition, (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(definition.AsSpan(4), keySize);
        BinaryPrimitives.WriteUInt32LittleEndian(definition.AsSpan(8), valueSize);
        BinaryPrimitives.WriteUInt32LittleEndian(definition.AsSpan(12), maxEntries);
        BinaryPrimitives.WriteUInt32LittleEndian(definition.AsSpan(16), flags);
        return definition;
    }

    /// <summary>
    /// sk_lookup/steer: r1 = &amp;sockets; r2 = &amp;.rodata+4; call slot (a static .text function, called through the
    /// section symbol as clang 14 does); r3 = &amp;counter (.bss); exit. slot: r0 = *(u32 *)(r1 +12); exit.
    /// </summary>
    private static ElfBuilder SteerObject()
    {
        Instruction[] steer =
        [
            .. LoadImm64(R1, 0), // 0: map sockets
            .. LoadImm64(R2, 4), // 2: .rodata + 4 (section symbol, offset in the immediate)
            PseudoCall(1), // 4: .text instruction 2 (imm + 1)
            .. LoadImm64(R3, 0), // 5: counter in .bss
            Exit, // 7
        ];
        Instruction[] text = [Mov(R0, 0), Exit, Load32(R0, R1, 12), Exit];
        var maps = LegacyMapDefinition(MapType.SockMap, 4, 8, 2).Concat(LegacyMapDefinition(MapType.Array, 4, 8, 1)).ToArray();
        return new ElfBuilder()
            .Code(".text", text)
            .Code("sk_lookup/steer", steer)
            .Data("maps", maps)
            .Data(".rodata", [1, 0, 0, 0, 0x5f, 0x1b, 0, 0])
            .Data(".bss", null, noBitsSize: 16)
            .Data("license", "GPL\0"u8.ToArray())
            .Function("unused", ".text", 0, 2, Local)
            .Function("slot", ".text", 2, 2, Local)
            .Function("steer", "sk_lookup/steer", 0, steer.Length)
            .Variable("sockets", "maps", 0, 20)
            .Variable("hits", "maps", 20, 20)
            .Variable("first", ".rodata", 0, 4)
            .Variable("port", ".rodata", 4, 2)
            .Variable("counter", ".bss", 8, 8)
            .Relocation("sk_lookup/steer", 0, "sockets", RBpf64_64)
            .Relocation("sk_lookup/steer", 2, ".rodata", RBpf64_64)
            .Relocation("sk_lookup/steer", 4, ".text", RBpf64_32)
            .Relocation("sk_lookup/steer", 5, "counter", RBpf64_64);
    }

    [Fact]
    public void SyntheticObjectReadsAsItWasWritten()
    {
        var spec = ElfReader.Read(SteerObject().Build(), "steer.o");

        var program = Assert.Single(spec.Programs.Values);
        Assert.Equal("steer", program.Name);
        Assert.Equal("GPL", program.License);
        Assert.Equal(8 + 2, program.Instructions.Count); // Only "slot" is appended, not "unused".
        Assert.Equal(PseudoCall(8 - 5), program.Instructions[4]);
        Assert.Equal(Load32(R0, R1, 12), program.Instructions[8]);
        Assert.Equal(
            [new MapReference(0, "sockets"), new MapReference(2, ".rodata", 4, IsValue: true), new MapReference(5, ".bss", 8, IsValue: true)],
            program.MapReferences);
        Assert.Equal(new byte[16], spec.Maps[".bss"].Contents[0].Value);
        Assert.Equal(16u, spec.Maps[".bss"].ValueSize);
        Assert.Equal(MapType.SockMap, spec.Maps["sockets"].Type);
        Assert.Equal(2u, spec.Maps["sockets"].MaxEntries);
        Assert.Equal(new VariableSpec("port", ".rodata", 4, 2, IsConstant: true), spec.Variables["port"]);
    }

    [Fact]
    public void SectionAndSymbolOrderDoNotChangeTheSpec()
    {
        var inOrder = ElfReader.Read(SteerObject().Build(), "steer.o");
        var reversed = ElfReader.Read(SteerObject().Build(reverse: true), "steer.o");

        SpecComparison.AssertEquivalent(inOrder, reversed);
    }

    [Fact]
    public void ObjectWithoutLicenseBtfOrDataStillReads()
    {
        var bytes = new ElfBuilder()
            .Code("sk_lookup", Mov(R0, 1), Exit)
            .Function("pass", "sk_lookup", 0, 2)
            .Build();

        var spec = ElfReader.Read(bytes);

        var program = Assert.Single(spec.Programs.Values);
        Assert.Equal("", program.License);
        Assert.Empty(spec.Maps);
        Assert.Empty(program.MapReferences);
    }

    [Fact]
    public void CallAgainstTheFunctionSymbolWithMinusOneLinksTheSame()
    {
        // Newer clang versions relocate calls to global functions against the function's own symbol, imm = -1.
        var bytes = new ElfBuilder()
            .Code(".text", Mov(R0, 0), Exit, Mov(R0, 1), Exit)
            .Code("sk_lookup", PseudoCall(-1), Exit)
            .Function("zero", ".text", 0, 2)
            .Function("one", ".text", 2, 2)
            .Function("prog", "sk_lookup", 0, 2)
            .Relocation("sk_lookup", 0, "one", RBpf64_32)
            .Build();

        var program = ElfReader.Read(bytes).Programs["prog"];

        Assert.Equal([PseudoCall(1), Exit, Mov(R0, 1), Exit], program.Instructions);
    }

    [Fact]
    public void CallInsideOneSectionWithoutRelocationLinks()
    {
        // A static function in the program's own section is reached by a relative call with no relocation,
        // and being static, it is not a program itself.
        var bytes = new ElfBuilder()
            .Code("sk_lookup", Mov(R1, 3), PseudoCall(1), Exit, Mov(R0, 1), Exit)
            .Function("prog", "sk_lookup", 0, 3)
            .Function("helper", "sk_lookup", 3, 2, Local)
            .Build();

        var spec = ElfReader.Read(bytes);

        var program = Assert.Single(spec.Programs.Values);
        Assert.Equal("prog", program.Name);
        Assert.Equal([Mov(R1, 3), PseudoCall(1), Exit, Mov(R0, 1), Exit], program.Instructions);
    }

    [Fact]
    public void CallbackAddressIsLinkedLikeACall()
    {
        // bpf_loop(n, &callback, ...): LD_IMM64 with BPF_PSEUDO_FUNC against .text, the immediate a byte offset.
        var bytes = new ElfBuilder()
            .Code(".text", Mov(R0, 0), Exit)
            .Code("sk_lookup", [.. LoadImm64(R2, 0, OpCodes.PseudoFunc), CallHelper(181), Exit])
            .Function("callback", ".text", 0, 2, Local)
            .Function("prog", "sk_lookup", 0, 4)
            .Relocation("sk_lookup", 0, ".text", RBpf64_64)
            .Build();

        var program = ElfReader.Read(bytes).Programs["prog"];

        Assert.Equal(6, program.Instructions.Count);
        Assert.Equal(4 - 1, program.Instructions[0].Immediate); // Relative to the next slot, like a call.
        Assert.Equal(OpCodes.PseudoFunc, (byte)program.Instructions[0].Source);
        Assert.Empty(program.MapReferences);
    }

    [Fact]
    public void MutualRecursionLinksEachFunctionOnce()
    {
        var bytes = new ElfBuilder()
            .Code(".text", PseudoCall(-1), Exit)
            .Code("sk_lookup", PseudoCall(-1), Exit)
            .Function("ping", ".text", 0, 2)
            .Function("prog", "sk_lookup", 0, 2)
            .Relocation("sk_lookup", 0, "ping", RBpf64_32)
            .Relocation(".text", 0, "prog", RBpf64_32)
            .Build();

        var program = ElfReader.Read(bytes).Programs["prog"];

        Assert.Equal([PseudoCall(1), Exit, PseudoCall(-3), Exit], program.Instructions);
    }

    [Theory]
    [InlineData("sk_lookup", ProgramType.SkLookup, AttachType.SkLookup)]
    [InlineData("sk_lookup/anything", ProgramType.SkLookup, AttachType.SkLookup)]
    [InlineData("sk_reuseport", ProgramType.SkReuseport, AttachType.SkReuseportSelect)]
    [InlineData("sk_reuseport/migrate", ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate)]
    [InlineData("socket", ProgramType.SocketFilter, AttachType.None)]
    [InlineData("tc", ProgramType.SchedClassifier, AttachType.None)]
    [InlineData("xdp", ProgramType.Xdp, AttachType.None)]
    public void SectionNamesGiveProgramAndAttachTypes(string section, ProgramType type, AttachType attachType)
    {
        var bytes = new ElfBuilder().Code(section, Mov(R0, 1), Exit).Function("prog", section, 0, 2).Build();

        var program = ElfReader.Read(bytes).Programs["prog"];

        Assert.Equal(type, program.Type);
        Assert.Equal(attachType, program.ExpectedAttachType);
        Assert.Equal(section, program.SectionName);
    }

    [Theory]
    [InlineData("kprobe/do_sys_open")]
    [InlineData("sk_reuseport/other")]
    [InlineData("sk_lookupx")]
    public void UnknownProgramSectionIsRefusedNamingIt(string section)
    {
        var bytes = new ElfBuilder().Code(section, Mov(R0, 1), Exit).Function("prog", section, 0, 2).Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "probe.o"));

        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal(section, error.Section);
        Assert.Equal("prog", error.Symbol);
        Assert.Contains("sk_lookup/NAME", error.Message);
    }

    [Fact]
    public void KfuncCallIsRefusedNamingSectionSymbolAndKfunc()
    {
        var bytes = new ElfBuilder()
            .Code("sk_lookup/k", Mov(R1, 0), new Instruction(OpCodes.Call, R0, (Register)2, 0, -1), Exit)
            .Function("k", "sk_lookup/k", 0, 3)
            .Extern("bpf_obj_new_impl", Func)
            .Relocation("sk_lookup/k", 1, "bpf_obj_new_impl", RBpf64_32)
            .Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "kfunc.o"));

        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal("object kfunc.o: section sk_lookup/k, symbol k: instruction 1: calls bpf_obj_new_impl, an extern function (a kfunc); kfuncs are not supported",
            error.Message);
    }

    [Fact]
    public void ExternVariableIsRefused()
    {
        var bytes = new ElfBuilder()
            .Code("sk_lookup", [.. LoadImm64(R1, 0), Exit])
            .Function("prog", "sk_lookup", 0, 3)
            .Extern("LINUX_KERNEL_VERSION")
            .Relocation("sk_lookup", 0, "LINUX_KERNEL_VERSION", RBpf64_64)
            .Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "kconfig.o"));

        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal("prog", error.Symbol);
        Assert.Contains("refers to LINUX_KERNEL_VERSION, an extern symbol", error.Message);
    }

    [Fact]
    public void UnknownRelocationTypeIsRefused()
    {
        var bytes = new ElfBuilder()
            .Code("sk_lookup", [.. LoadImm64(R1, 0), Exit])
            .Data(".data", new byte[4])
            .Function("prog", "sk_lookup", 0, 3)
            .Variable("value", ".data", 0, 4)
            .Relocation("sk_lookup", 0, "value", 7)
            .Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "reloc.o"));

        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal("object reloc.o: section sk_lookup, symbol prog: instruction 0: relocation type 7 against value is not supported", error.Message);
    }

    [Fact]
    public void ReferenceToASectionThatIsNoMapNorDataIsRefused()
    {
        var bytes = new ElfBuilder()
            .Code("sk_lookup", [.. LoadImm64(R1, 0), Exit])
            .Data("license", "GPL\0"u8.ToArray())
            .Function("prog", "sk_lookup", 0, 3)
            .Variable("_license", "license", 0, 4)
            .Relocation("sk_lookup", 0, "_license", RBpf64_64)
            .Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "odd.o"));

        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Contains("refers to _license in section license, which is neither a map, global data (.rodata, .data, .bss) nor code", error.Message);
    }

    [Fact]
    public void BtfMapsWithoutBtfAskForClangDashG()
    {
        var bytes = new ElfBuilder()
            .Code("sk_lookup", Mov(R0, 1), Exit)
            .Data(".maps", new byte[32])
            .Function("prog", "sk_lookup", 0, 2)
            .Variable("sockets", ".maps", 0, 32)
            .Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "nobtf.o"));

        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal(".maps", error.Section);
        Assert.Equal("sockets", error.Symbol);
        Assert.Contains("clang -g", error.Message);
    }

    [Fact]
    public void LegacyMapWithFieldsBeyondMapFlagsIsRefused()
    {
        var definition = LegacyMapDefinition(MapType.Hash, 4, 4, 8, size: 28);
        definition[24] = 1; // numa_node
        var bytes = new ElfBuilder()
            .Code("sk_lookup", Mov(R0, 1), Exit)
            .Data("maps", definition)
            .Function("prog", "sk_lookup", 0, 2)
            .Variable("numa", "maps", 0, 28)
            .Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "numa.o"));

        Assert.Equal("numa", error.Symbol);
        Assert.Contains("fields after map_flags", error.Message);
    }

    [Fact]
    public void LegacyMapsWithoutSymbolSizesShareTheSection()
    {
        var maps = LegacyMapDefinition(MapType.Hash, 4, 4, 8, flags: 1).Concat(LegacyMapDefinition(MapType.Array, 4, 16, 3)).ToArray();
        var bytes = new ElfBuilder()
            .Code("sk_lookup", Mov(R0, 1), Exit)
            .Data("maps", maps)
            .Function("prog", "sk_lookup", 0, 2)
            .Variable("second", "maps", 20, 0)
            .Variable("first", "maps", 0, 0)
            .Build();

        var spec = ElfReader.Read(bytes);

        Assert.Equal(new MapSpec { Name = "first", Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 8, Flags = MapFlags.NoPrealloc }, spec.Maps["first"]);
        Assert.Equal(new MapSpec { Name = "second", Type = MapType.Array, KeySize = 4, ValueSize = 16, MaxEntries = 3 }, spec.Maps["second"]);
    }

    [Fact]
    public void PointersInGlobalDataAreRefused()
    {
        var bytes = new ElfBuilder()
            .Code("sk_lookup", Mov(R0, 1), Exit)
            .Data(".data", new byte[16])
            .Function("prog", "sk_lookup", 0, 2)
            .Variable("target", ".data", 0, 8)
            .Variable("pointer", ".data", 8, 8)
            .Relocation(".data", 1, "target", 2)
            .Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "pointer.o"));

        Assert.Equal(".data", error.Section);
        Assert.Equal("pointer", error.Symbol);
        Assert.Contains("global data that holds addresses", error.Message);
    }

    [Fact]
    public void CallToANonFunctionIsMalformed()
    {
        var bytes = new ElfBuilder()
            .Code(".text", Mov(R0, 0), Exit)
            .Code("sk_lookup", PseudoCall(0), Exit)
            .Function("zero", ".text", 0, 2)
            .Function("prog", "sk_lookup", 0, 2)
            .Relocation("sk_lookup", 0, ".text", RBpf64_32)
            .Build();

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "call.o"));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("calls instruction 1 of .text, where no function starts", error.Message);
    }
}
