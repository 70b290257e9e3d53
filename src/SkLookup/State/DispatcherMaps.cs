using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.State;

/// <summary>
/// The pinned maps of one state directory, each by what it holds (<see cref="DispatcherLayout"/> and
/// <see cref="ControlLayout"/>). A state that another version built may lack a map of this layout: reading
/// it is then a damaged state, which the checks before every read and write report first. It owns the maps.
/// </summary>
internal sealed class DispatcherMaps : IDisposable
{
    private readonly string _path;
    private readonly Dictionary<string, BpfMap> _byName;

    private readonly HashSet<string> _readOnly;

    private DispatcherMaps(string path, Dictionary<string, BpfMap> byName, HashSet<string> readOnly)
    {
        _path = path;
        _byName = byName;
        _readOnly = readOnly;
    }

    /// <summary>
    /// Opens every map of this layout that is pinned in <paramref name="path"/>; with <paramref name="preferStaged"/>,
    /// the staged pin of a map (<see cref="StatePaths.StagedSuffix"/>) where there is one. A map whose pin this
    /// process may only read (a member of the state's group: <see cref="StatePaths.PinMode"/>) is opened read-only.
    /// </summary>
    public static DispatcherMaps OpenPinned(string path, bool preferStaged = false)
    {
        var maps = new Dictionary<string, BpfMap>();
        var readOnly = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var spec in ControlLayout.AllMaps)
            {
                var pin = System.IO.Path.Combine(path, spec.Name);
                if (preferStaged && File.Exists(pin + StatePaths.StagedSuffix))
                    pin += StatePaths.StagedSuffix;
                if (!File.Exists(pin))
                    continue;
                try
                {
                    maps[spec.Name] = BpfMap.OpenPinned(pin);
                }
                catch (BpfException exception) when (exception.Reason == BpfErrorReason.PermissionDenied)
                {
                    maps[spec.Name] = BpfMap.OpenPinnedReadOnly(pin);
                    readOnly.Add(spec.Name);
                }
            }
            return new DispatcherMaps(path, maps, readOnly);
        }
        catch
        {
            foreach (var map in maps.Values)
                map.Dispose();
            throw;
        }
    }

    /// <summary>True if every map was opened for writing.</summary>
    public bool AllWritable => _readOnly.Count == 0;

    /// <summary>True if every map that registering a socket writes (<see cref="StatePaths.RegistrationMaps"/>) was opened for writing.</summary>
    public bool RegistrationWritable => !_readOnly.Overlaps(StatePaths.RegistrationMaps);

    /// <summary>The record of IPv4 bindings.</summary>
    public BpfMap Bindings4 => Get(DispatcherLayout.Bindings4);

    /// <summary>The record of IPv6 bindings.</summary>
    public BpfMap Bindings6 => Get(DispatcherLayout.Bindings6);

    /// <summary>The record of <paramref name="family"/>'s bindings.</summary>
    public BpfMap Bindings(Family family) => family == Family.IPv4 ? Bindings4 : Bindings6;

    /// <summary>The traffic classes with a binding on each port.</summary>
    public BpfMap Ports => Get(DispatcherLayout.Ports);

    /// <summary>The socket of each destination.</summary>
    public BpfMap Sockets => Get(DispatcherLayout.Sockets);

    /// <summary>The per-CPU counters of each destination.</summary>
    public BpfMap Metrics => Get(DispatcherLayout.Metrics);

    /// <summary>The options of each destination.</summary>
    public BpfMap DestinationOptions => Get(DispatcherLayout.DestinationOptions);

    /// <summary>The destination id of each label, family and protocol.</summary>
    public BpfMap Labels => Get(ControlLayout.Labels);

    /// <summary>The label-wide options.</summary>
    public BpfMap LabelOptions => Get(ControlLayout.LabelOptions);

    /// <summary>The meta record's map.</summary>
    public BpfMap Meta => Get(ControlLayout.Meta);

    /// <summary>The meta record, or null if there is none this version can read (or no meta map).</summary>
    public DispatcherMeta? ReadMeta() => Find(ControlLayout.Meta) is { } map ? DispatcherMeta.Read(map) : null;

    /// <summary>The map of <paramref name="spec"/>'s name, or null if it is not pinned.</summary>
    public BpfMap? Find(MapSpec spec) => _byName.GetValueOrDefault(spec.Name);

    /// <summary>Every map by name, as a program is loaded against them.</summary>
    public IReadOnlyDictionary<string, BpfMap> ByName => _byName;

    /// <summary>These maps with <paramref name="replacements"/> (by name) in place of some: what a program loaded for staged maps reads.</summary>
    public IReadOnlyDictionary<string, BpfMap> With(IReadOnlyDictionary<string, BpfMap> replacements)
    {
        var all = new Dictionary<string, BpfMap>(_byName);
        foreach (var (name, map) in replacements)
            all[name] = map;
        return all;
    }

    /// <summary>Takes over <paramref name="replacements"/> (by name), disposing the maps they replace.</summary>
    public void Replace(IReadOnlyDictionary<string, BpfMap> replacements)
    {
        foreach (var (name, map) in replacements)
        {
            if (_byName.Remove(name, out var old) && !ReferenceEquals(old, map))
                old.Dispose();
            _byName[name] = map;
            _readOnly.Remove(name);
        }
    }

    /// <summary>Closes every map; the pins stay.</summary>
    public void Dispose()
    {
        foreach (var map in _byName.Values)
            map.Dispose();
    }

    private BpfMap Get(MapSpec spec) => _byName.TryGetValue(spec.Name, out var map)
        ? map
        : throw new SteeringException(SteeringError.DamagedState,
            $"the state at {_path} is damaged (map {spec.Name} is not pinned): run unload to remove it, then load again");
}
