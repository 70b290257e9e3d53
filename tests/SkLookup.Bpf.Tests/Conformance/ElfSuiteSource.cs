namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>The suite's programs as clang compiled them from tests/bpf-objects/src/sk_lookup_suite.c, read by the ELF loader.</summary>
public sealed class ElfSuiteSource : ISuiteProgramSource
{
    private static readonly Lazy<CollectionSpec> s_collection = new(() =>
        ElfReader.Read(Path.Combine(AppContext.BaseDirectory, "bpf-objects", "sk_lookup_suite.o")));

    /// <inheritdoc />
    public string Name => "elf";

    /// <inheritdoc />
    public IReadOnlyList<MapSpec> Maps => [.. s_collection.Value.Maps.Values];

    /// <inheritdoc />
    public ProgramSpec Get(string programName) => s_collection.Value.Programs.TryGetValue(programName, out var spec)
        ? spec
        : throw new ArgumentException($"sk_lookup_suite.o has no program '{programName}'", nameof(programName));
}
