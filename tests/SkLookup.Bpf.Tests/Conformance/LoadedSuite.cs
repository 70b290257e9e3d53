using SkLookup.Bpf.Tests.Conformance.Programs;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// One test's instance of a program source: its maps, created fresh, and its programs, loaded on first use.
/// Disposing closes them all.
/// </summary>
public sealed class LoadedSuite : IDisposable
{
    private readonly ISuiteProgramSource _source;
    private readonly Dictionary<string, BpfMap> _maps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BpfProgram> _programs = new(StringComparer.Ordinal);

    /// <summary>Creates the maps of <paramref name="source"/>.</summary>
    public LoadedSuite(ISuiteProgramSource source)
    {
        _source = source;
        try
        {
            foreach (var spec in source.Maps)
                _maps.Add(spec.Name, BpfMap.Create(spec));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Creates the maps of the source called <paramref name="sourceName"/>.</summary>
    public LoadedSuite(string sourceName) : this(SuiteSources.Get(sourceName))
    {
    }

    /// <summary>The SOCKMAP of servers (slot 0 is server A, slot 1 server B).</summary>
    public BpfMap RedirMap => _maps[SuitePrograms.RedirMap];

    /// <summary>The ARRAY where the multi_prog_* programs mark that they ran.</summary>
    public BpfMap RunMap => _maps[SuitePrograms.RunMap];

    /// <summary>The program called <paramref name="name"/>, loaded with this suite's maps.</summary>
    public BpfProgram Program(string name)
    {
        if (!_programs.TryGetValue(name, out var program))
        {
            program = BpfProgram.Load(_source.Get(name), _maps);
            _programs.Add(name, program);
        }
        return program;
    }

    /// <summary>Attaches the program called <paramref name="name"/> to <paramref name="netns"/>.</summary>
    public NetNsLink Attach(string name, SkLookup.TestKit.TestNetNs netns) => NetNsLink.Attach(Program(name), netns.Namespace);

    /// <summary>Closes the programs and the maps.</summary>
    public void Dispose()
    {
        foreach (var program in _programs.Values)
            program.Dispose();
        foreach (var map in _maps.Values)
            map.Dispose();
    }
}
