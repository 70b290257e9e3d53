using SkLookup.Bpf;
using SkLookup.DataPlane;
using SkLookup.State;

namespace SkLookup.Destinations;

/// <summary>
/// The destinations of a dispatcher and their ids, mirrored from <see cref="ControlLayout.Labels"/> while the
/// state is locked. Ids are the keys of the sockets, metrics and options maps, so an id is
/// reset in all of them before it is handed out, and it is published in the labels map last.
/// </summary>
/// <remarks>
/// The table reads the labels map only when it must (every destination listed, or a destination found by id): a
/// destination found by label is one lookup, and a new one takes the lowest free id from the binding summary's map of
/// used ids (<see cref="IdAllocator"/>) where the state has one, so that one bind reads a few entries, not every label.
/// </remarks>
internal sealed class DestinationTable
{
    private readonly BpfMap _labels, _labelOptions, _sockets, _metrics, _options;
    private readonly Dictionary<Destination, uint> _ids = [];
    private readonly Dictionary<uint, Destination> _byId = [];
    private readonly Dictionary<string, DestinationFlags> _labelFlags = new(StringComparer.Ordinal);
    private readonly bool[] _used = new bool[DispatcherLayout.MaxDestinations];
    private uint _searchFrom;
    private bool _loaded;

    public DestinationTable(DispatcherMaps maps, bool refreshOnMiss = false)
    {
        _labels = maps.Labels;
        _labelOptions = maps.LabelOptions;
        _sockets = maps.Sockets;
        _metrics = maps.Metrics;
        _options = maps.DestinationOptions;
        _refreshOnMiss = refreshOnMiss;
    }

    /// <summary>
    /// True for a reader that reads without the lock while a writer works: a bind makes its destination before its binding,
    /// so a binding whose id this table does not know yet has a destination made after the table was read, and the table
    /// reads the labels again.
    /// </summary>
    private readonly bool _refreshOnMiss;

    /// <summary>The used ids kept in the binding summary, or null: then a new destination's id comes from reading every label.</summary>
    public ControlPlane.BindingSummary? IdAllocator { get; set; }

    /// <summary>Reads every destination now (a reader's snapshot reads them within its checked window).</summary>
    public void LoadAll()
    {
        if (!_loaded)
            Load();
    }

    private void Load()
    {
        _loaded = true;
        foreach (var (key, value) in _labels.LookupAll())
        {
            var (label, family, protocol) = LabelKey.Decode(key);
            var id = BitConverter.ToUInt32(value);
            if (id >= _used.Length)
                continue; // Not an id this layout could have written.
            var destination = new Destination(label, (Family)family, (Protocol)protocol);
            _ids[destination] = id;
            _byId[id] = destination;
            _used[id] = true;
        }
        foreach (var (key, value) in _labelOptions.LookupAll())
            _labelFlags[LabelKey.Decode(key).Label] = (DestinationFlags)BitConverter.ToUInt32(value);
    }

    /// <summary>How many destinations exist.</summary>
    public int Count
    {
        get
        {
            LoadAll();
            return _ids.Count;
        }
    }

    /// <summary>Every destination with its id.</summary>
    public IEnumerable<KeyValuePair<Destination, uint>> All
    {
        get
        {
            LoadAll();
            return _ids;
        }
    }

    /// <summary>The id of <paramref name="destination"/>, if it exists: one lookup in the labels map.</summary>
    public bool TryGetId(Destination destination, out uint id)
    {
        if (_ids.TryGetValue(destination, out id) || _loaded)
            return _ids.ContainsKey(destination);
        var value = _labels.Lookup(LabelKey.Encode(destination.Label, (byte)destination.Family, (byte)destination.Protocol));
        if (value is null || (id = BitConverter.ToUInt32(value)) >= _used.Length)
            return false;
        _ids[destination] = id;
        _byId[id] = destination;
        return true;
    }

    /// <summary>The destination with id <paramref name="id"/>, if it exists (reads every label unless the id is known already).</summary>
    public bool TryGet(uint id, out Destination destination)
    {
        if (_byId.TryGetValue(id, out destination))
            return true;
        if (_loaded && !_refreshOnMiss)
            return false;
        Load();
        return _byId.TryGetValue(id, out destination);
    }

    /// <summary>The options a label's new destinations start with.</summary>
    public DestinationFlags LabelFlags(string label)
    {
        if (_loaded || _labelFlags.ContainsKey(label))
            return _labelFlags.GetValueOrDefault(label);
        var value = _labelOptions.Lookup(LabelKey.Encode(label, 0, 0));
        var flags = value is null ? DestinationFlags.None : (DestinationFlags)BitConverter.ToUInt32(value);
        _labelFlags[label] = flags;
        return flags;
    }

    /// <summary>The destinations of <paramref name="label"/>: at most one per family and protocol, each one lookup.</summary>
    public IEnumerable<KeyValuePair<Destination, uint>> OfLabel(string label)
    {
        var found = new List<KeyValuePair<Destination, uint>>();
        foreach (var family in new[] { Family.IPv4, Family.IPv6 })
            foreach (var protocol in new[] { Protocol.Tcp, Protocol.Udp })
                if (TryGetId(new Destination(label, family, protocol), out var id))
                    found.Add(new(new Destination(label, family, protocol), id));
        return found;
    }

    /// <summary>Returns the id of <paramref name="destination"/>, creating the destination with the lowest free id if needed.</summary>
    public uint GetOrCreate(Destination destination)
    {
        if (TryGetId(destination, out var id))
            return id;
        id = AllocateId(destination);
        var key = BitConverter.GetBytes(id);
        // A previous owner of this id may have left a socket, counters or options behind.
        DeleteSocket(_sockets, id);
        _metrics.Update(key, new byte[_metrics.ValueSize]);
        _options.Update(key, BitConverter.GetBytes((uint)LabelFlags(destination.Label)));
        IdAllocator?.MarkId(id, used: true);
        _labels.Update(LabelKey.Encode(destination.Label, (byte)destination.Family, (byte)destination.Protocol), key);
        _ids[destination] = id;
        _byId[id] = destination;
        _used[id] = true;
        return id;
    }

    /// <summary>Removes a destination: its label entry first, then its socket slot and options.</summary>
    public void Remove(uint id)
    {
        if (!_byId.ContainsKey(id))
            LoadAll();
        if (!_byId.Remove(id, out var destination))
            return;
        _labels.Delete(LabelKey.Encode(destination.Label, (byte)destination.Family, (byte)destination.Protocol));
        var key = BitConverter.GetBytes(id);
        DeleteSocket(_sockets, id);
        _options.Update(key, new byte[4]);
        _ids.Remove(destination);
        _used[id] = false;
        IdAllocator?.MarkId(id, used: false);
        _searchFrom = Math.Min(_searchFrom, id);
    }

    /// <summary>Sets the label-wide options and applies them to each of the label's destinations.</summary>
    public void SetLabelFlags(string label, DestinationFlags flags)
    {
        var key = LabelKey.Encode(label, 0, 0);
        if (flags == DestinationFlags.None)
        {
            _labelOptions.Delete(key);
            _labelFlags.Remove(label);
        }
        else
        {
            _labelOptions.Update(key, BitConverter.GetBytes((uint)flags));
            _labelFlags[label] = flags;
        }
        foreach (var (_, id) in OfLabel(label))
            _options.Update(BitConverter.GetBytes(id), BitConverter.GetBytes((uint)flags));
    }

    /// <summary>
    /// New label-options and destination-options maps, with <paramref name="changes"/> (label to flags) made, for a swap to
    /// stage beside the binding maps, so that a binding set and its options change together. Every destination's options
    /// are its label's (<see cref="GetOrCreate"/> and <see cref="SetLabelFlags"/> keep them so), so they are derived here,
    /// not copied. The caller owns both maps.
    /// </summary>
    public (BpfMap LabelOptions, BpfMap DestinationOptions) CreateOptions(IReadOnlyDictionary<string, DestinationFlags> changes)
    {
        LoadAll();
        var flags = new Dictionary<string, DestinationFlags>(_labelFlags, StringComparer.Ordinal);
        foreach (var (label, value) in changes)
            flags[label] = value;
        var labelOptions = BpfMap.Create(ControlLayout.LabelOptions);
        BpfMap? destinationOptions = null;
        try
        {
            destinationOptions = BpfMap.Create(DispatcherLayout.DestinationOptions);
            foreach (var (label, value) in flags)
                if (value != DestinationFlags.None)
                    labelOptions.Update(LabelKey.Encode(label, 0, 0), BitConverter.GetBytes((uint)value));
            foreach (var (destination, id) in _ids)
                if (flags.GetValueOrDefault(destination.Label) is var value && value != DestinationFlags.None)
                    destinationOptions.Update(BitConverter.GetBytes(id), BitConverter.GetBytes((uint)value));
            return (labelOptions, destinationOptions);
        }
        catch
        {
            labelOptions.Dispose();
            destinationOptions?.Dispose();
            throw;
        }
    }

    /// <summary>The options of a destination as the program sees them.</summary>
    public DestinationFlags Flags(uint id)
    {
        var value = _options.Lookup(BitConverter.GetBytes(id));
        return value is null ? DestinationFlags.None : (DestinationFlags)BitConverter.ToUInt32(value);
    }

    /// <summary>The cookie of the socket registered for a destination, or null.</summary>
    public ulong? SocketCookie(uint id) => _sockets.LookupSocketCookie(BitConverter.GetBytes(id));

    /// <summary>
    /// Empties a socket slot; false if it was empty. A SOCKMAP answers EINVAL, not ENOENT, for an empty
    /// slot (<c>__sock_map_delete</c>), so that errno means "nothing there" here.
    /// </summary>
    public static bool DeleteSocket(BpfMap sockets, uint id)
    {
        try
        {
            return sockets.Delete(BitConverter.GetBytes(id));
        }
        catch (BpfException exception) when (exception.Errno == Errno.EINVAL)
        {
            return false;
        }
    }

    private uint AllocateId(Destination destination)
    {
        if (!_loaded && IdAllocator?.FirstFreeId() is { } free)
            return free;
        LoadAll();
        for (var id = _searchFrom; id < _used.Length; id++)
        {
            if (!_used[id])
            {
                _searchFrom = id + 1;
                return id;
            }
        }
        throw new SteeringException(SteeringError.CapacityExceeded,
            $"cannot create destination {destination}: all {DispatcherLayout.MaxDestinations} destination ids are in use; remove unused labels or sockets first");
    }
}
