namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// The program sources every conformance test runs against, and theory data over them. Theory rows carry a
/// source's name (a string, so test names stay readable); tests resolve it with <see cref="Get"/>.
/// To run the suite against another source, add it to <see cref="All"/>.
/// </summary>
public static class SuiteSources
{
    /// <summary>Every source, by name.</summary>
    public static IReadOnlyDictionary<string, ISuiteProgramSource> All { get; } = new ISuiteProgramSource[]
    {
        new AssemblerSuiteSource(),
        new ElfSuiteSource(),
    }.ToDictionary(source => source.Name, StringComparer.Ordinal);

    /// <summary>The source called <paramref name="name"/>.</summary>
    public static ISuiteProgramSource Get(string name) => All[name];

    /// <summary>One row per source.</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in All.Keys)
            data.Add(name);
        return data;
    }

    /// <summary>One row per source and scenario name.</summary>
    public static TheoryData<string, string> Cross(IEnumerable<string> scenarios)
    {
        var data = new TheoryData<string, string>();
        foreach (var name in All.Keys)
        {
            foreach (var scenario in scenarios)
                data.Add(name, scenario);
        }
        return data;
    }
}
