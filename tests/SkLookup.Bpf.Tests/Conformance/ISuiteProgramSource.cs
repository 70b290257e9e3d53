namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// Where the kernel suite's programs come from: our assembler today, an ELF object built from C later.
/// Every source has the same program names (<see cref="Programs.SuiteProgramNames"/>) and the same two
/// maps, <c>redir_map</c> and <c>run_map</c>; it may add maps of its own, such as global data sections.
/// </summary>
public interface ISuiteProgramSource
{
    /// <summary>A short name for test output, e.g. "assembler".</summary>
    string Name { get; }

    /// <summary>Every map the programs refer to, to be created once per test.</summary>
    IReadOnlyList<MapSpec> Maps { get; }

    /// <summary>The program called <paramref name="programName"/> in the suite's C.</summary>
    ProgramSpec Get(string programName);
}
