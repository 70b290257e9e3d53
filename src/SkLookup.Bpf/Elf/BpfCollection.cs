namespace SkLookup.Bpf;

/// <summary>
/// The maps and programs of a <see cref="CollectionSpec"/>, loaded in the kernel. It owns them: dispose it to
/// close them all (pinned maps live on in bpffs).
/// </summary>
public sealed class BpfCollection : IDisposable
{
    private readonly Dictionary<string, BpfMap> _maps;
    private readonly Dictionary<string, BpfProgram> _programs;

    private BpfCollection(Dictionary<string, BpfMap> maps, Dictionary<string, BpfProgram> programs)
    {
        _maps = maps;
        _programs = programs;
    }

    /// <summary>The maps, by their names in the spec.</summary>
    public IReadOnlyDictionary<string, BpfMap> Maps => _maps;

    /// <summary>The programs that were loaded, by their names in the spec.</summary>
    public IReadOnlyDictionary<string, BpfProgram> Programs => _programs;

    /// <summary>
    /// Creates the maps (opening or creating the pinned ones under <see cref="CollectionOptions.PinRoot"/>), then
    /// loads the programs with their map references patched. On failure, everything created so far is closed
    /// (maps pinned by then stay pinned) and the error is thrown.
    /// </summary>
    public static BpfCollection Load(CollectionSpec spec, CollectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new CollectionOptions();
        var programNames = options.ProgramNames ?? spec.Programs.Keys.ToList();
        foreach (var name in programNames)
        {
            if (!spec.Programs.ContainsKey(name))
                throw new BpfException($"load collection: no program named '{name}'; it has {string.Join(", ", spec.Programs.Keys)}",
                    0, BpfErrorReason.NotFound);
        }

        var maps = new Dictionary<string, BpfMap>(StringComparer.Ordinal);
        var programs = new Dictionary<string, BpfProgram>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, mapSpec) in spec.Maps)
                maps[name] = CreateMap(name, mapSpec, options.PinRoot);
            foreach (var name in programNames)
                programs[name] = BpfProgram.Load(spec.Programs[name], maps);
            return new BpfCollection(maps, programs);
        }
        catch
        {
            foreach (var program in programs.Values)
                program.Dispose();
            foreach (var map in maps.Values)
                map.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads as <see cref="Load"/> does, then pins each loaded program at <c>PinRoot/NAME</c>
    /// (<see cref="CollectionOptions.PinRoot"/> is required, and must exist on bpffs). All or nothing on
    /// bpffs: if any step fails, every pin this call made (the programs, and the maps pinned by name that it
    /// created) is removed again before the error is thrown, so the directory is left as it was.
    /// </summary>
    public static BpfCollection LoadAndPin(CollectionSpec spec, CollectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var root = options.PinRoot ?? throw new ArgumentException("LoadAndPin needs CollectionOptions.PinRoot: the bpffs directory to pin the programs in", nameof(options));
        var before = new HashSet<string>(Directory.EnumerateFileSystemEntries(root));
        BpfCollection? collection = null;
        try
        {
            collection = Load(spec, options);
            foreach (var (name, program) in collection._programs)
                program.Pin(Path.Combine(root, name));
            return collection;
        }
        catch
        {
            collection?.Dispose();
            foreach (var entry in Directory.EnumerateFileSystemEntries(root).ToList())
                if (!before.Contains(entry))
                    File.Delete(entry);
            throw;
        }
    }

    private static BpfMap CreateMap(string name, MapSpec spec, string? pinRoot)
    {
        switch (spec.Pinning)
        {
            case MapPinning.None:
                return BpfMap.Create(spec);
            case MapPinning.ByName when pinRoot is null:
                throw new BpfException($"load collection: map '{name}' is pinned by name, but no pin root was given; set CollectionOptions.PinRoot to a bpffs directory",
                    0, BpfErrorReason.InvalidArgument);
            case MapPinning.ByName:
                // libbpf pins by the map's own name, so objects share pinned maps with libbpf-loaded ones.
                return BpfMap.OpenOrCreatePinned(Path.Combine(pinRoot, spec.Name), spec);
            default:
                throw new BpfException($"load collection: map '{name}' has pinning {spec.Pinning}, which this loader does not know",
                    0, BpfErrorReason.NotSupported);
        }
    }

    /// <summary>Closes every map and program.</summary>
    public void Dispose()
    {
        foreach (var program in _programs.Values)
            program.Dispose();
        foreach (var map in _maps.Values)
            map.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"loaded collection of {_maps.Count} maps and {_programs.Count} programs";
}
