namespace SkLookup.Bpf.Tests.Elf;

/// <summary>The committed BPF test objects (tests/bpf-objects/*.o), copied next to the test assembly by the csproj.</summary>
internal static class BpfObjects
{
    public const string Suite = "sk_lookup_suite.o", Bpf2Bpf = "bpf2bpf.o", LegacyMaps = "legacy_maps.o", PinnedMaps = "pinned_maps.o",
        CoreReloc = "core_reloc.o";

    /// <summary>Every committed object, for theories.</summary>
    public static TheoryData<string> All => new() { Suite, Bpf2Bpf, LegacyMaps, PinnedMaps, CoreReloc };

    /// <summary>The objects that this loader reads (core_reloc.o is refused on purpose).</summary>
    public static TheoryData<string> Loadable => new() { Suite, Bpf2Bpf, LegacyMaps, PinnedMaps };

    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "bpf-objects", name);

    public static CollectionSpec Read(string name) => ElfReader.Read(PathOf(name));

    public static byte[] Bytes(string name) => File.ReadAllBytes(PathOf(name));

    /// <summary>tests/bpf-objects in the source tree (for the sources and build.sh), found by walking up from the test assembly.</summary>
    public static string? SourceDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "bpf-objects");
            if (File.Exists(Path.Combine(candidate, "build.sh")))
                return candidate;
        }
        return null;
    }

    /// <summary>The 4-byte key 0 of a global data map or an array slot.</summary>
    public static byte[] Key(uint slot) => BitConverter.GetBytes(slot);
}
