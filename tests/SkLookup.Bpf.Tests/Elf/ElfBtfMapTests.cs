using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;
using static SkLookup.Bpf.Tests.Elf.ElfBuilder;

namespace SkLookup.Bpf.Tests.Elf;

/// <summary>BTF-defined maps written by hand: every attribute form the loader reads, and the ones it refuses.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class ElfBtfMapTests
{
    /// <summary>An object with the maps <paramref name="maps"/> (each 32 bytes in .maps) and a program that loads a pointer to each.</summary>
    private static byte[] ObjectWithMaps(BtfBuilder btf, params (string Name, uint Struct)[] maps)
    {
        var variables = maps.Select(m => (btf.Var(m.Name, m.Struct), 32u)).ToArray();
        btf.DataSection(".maps", variables);
        var code = new List<Instruction>();
        foreach (var _ in maps)
            code.AddRange([new(OpCodes.LoadImm64, R1, R0, 0, 0), new(0, R0, R0, 0, 0)]);
        code.AddRange([new(0xb7, R0, R0, 0, 1), new(OpCodes.Exit, R0, R0, 0, 0)]);
        var builder = new ElfBuilder()
            .Code("sk_lookup", [.. code])
            .Data(".maps", new byte[32 * maps.Length])
            .Data(".BTF", btf.Build())
            .Function("prog", "sk_lookup", 0, code.Count);
        for (var i = 0; i < maps.Length; i++)
        {
            builder.Variable(maps[i].Name, ".maps", (ulong)(32 * i), 32);
            builder.Relocation("sk_lookup", 2 * i, maps[i].Name, RBpf64_64);
        }
        return builder.Build();
    }

    [Fact]
    public void SizeAttributesTypesAndPinningAreRead()
    {
        var btf = new BtfBuilder();
        var u32 = btf.Typedef("__u32", btf.Int("unsigned int", 4));
        var key = btf.Struct("key", 12, ("a", u32), ("b", u32), ("c", u32));
        var sizes = btf.Struct("", 32, btf.Uint("type", (uint)MapType.Hash), btf.Uint("key_size", 4), btf.Uint("value_size", 8),
            btf.Uint("max_entries", 16), btf.Uint("map_flags", 1), btf.Uint("pinning", 1));
        var types = btf.Struct("", 32, btf.Uint("type", (uint)MapType.LpmTrie), btf.Type("key", key), btf.Type("value", btf.Array(u32, 5)),
            btf.Uint("max_entries", 64), btf.Uint("map_flags", 1));

        var spec = ElfReader.Read(ObjectWithMaps(btf, ("by_size", sizes), ("by_type", types)));

        Assert.Equal(new MapSpec { Name = "by_size", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 16, Flags = MapFlags.NoPrealloc, Pinning = MapPinning.ByName },
            spec.Maps["by_size"]);
        Assert.Equal(new MapSpec { Name = "by_type", Type = MapType.LpmTrie, KeySize = 12, ValueSize = 20, MaxEntries = 64, Flags = MapFlags.NoPrealloc },
            spec.Maps["by_type"]);
        Assert.Equal([new MapReference(0, "by_size"), new MapReference(2, "by_type")], spec.Programs["prog"].MapReferences);
    }

    [Theory]
    [InlineData("inner_map", "unknown map attribute 'inner_map'")]
    [InlineData("values", "initial values")]
    [InlineData("pinning", "pinning 2 is not supported")]
    [InlineData("numa_node", "numa_node is not supported")]
    public void UnsupportedAttributesAreRefusedNamingTheMap(string attribute, string problem)
    {
        var btf = new BtfBuilder();
        var definition = btf.Struct("", 32, btf.Uint("type", (uint)MapType.Array), btf.Uint("max_entries", 1), btf.Uint("key_size", 4),
            btf.Uint("value_size", 4), btf.Uint(attribute, 2));

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(ObjectWithMaps(btf, ("odd", definition)), "odd.o"));

        Assert.Equal(BpfErrorReason.NotSupported, error.Reason);
        Assert.Equal(".maps", error.Section);
        Assert.Equal("odd", error.Symbol);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void DisagreeingKeySizesAreMalformed()
    {
        var btf = new BtfBuilder();
        var definition = btf.Struct("", 32, btf.Uint("type", (uint)MapType.Hash), btf.Uint("key_size", 8),
            btf.Type("key", btf.Int("unsigned int", 4)), btf.Uint("value_size", 4), btf.Uint("max_entries", 1));

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(ObjectWithMaps(btf, ("two_keys", definition))));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("map two_keys gives two key sizes, 8 and 4", error.Message);
    }

    [Fact]
    public void MapWithoutTypeIsRefused()
    {
        var btf = new BtfBuilder();
        var definition = btf.Struct("", 32, btf.Uint("max_entries", 1));

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(ObjectWithMaps(btf, ("typeless", definition))));

        Assert.Equal("typeless", error.Symbol);
        Assert.Contains("no type attribute", error.Message);
    }

    [Fact]
    public void LoopingTypedefsAreMalformedNotAStackOverflow()
    {
        var btf = new BtfBuilder();
        var loop = btf.Typedef("a", 2); // Types 1 and 2 name each other.
        btf.Typedef("b", loop);
        var definition = btf.Struct("", 32, btf.Uint("type", (uint)MapType.Hash), btf.Type("key", loop), btf.Uint("value_size", 4), btf.Uint("max_entries", 1));

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(ObjectWithMaps(btf, ("loop", definition))));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("a loop?", error.Message);
    }
}
