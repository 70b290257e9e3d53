using SkLookup.Bpf.Tests.Conformance.Programs;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>The suite's programs as written with our assembler (<see cref="SuitePrograms"/>).</summary>
public sealed class AssemblerSuiteSource : ISuiteProgramSource
{
    /// <inheritdoc />
    public string Name => "assembler";

    /// <inheritdoc />
    public IReadOnlyList<MapSpec> Maps => SuitePrograms.Maps;

    /// <inheritdoc />
    public ProgramSpec Get(string programName) => SuitePrograms.All.TryGetValue(programName, out var build)
        ? build()
        : throw new ArgumentException($"the assembler source has no program '{programName}'", nameof(programName));
}
