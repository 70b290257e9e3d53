using SkLookup.Bpf;
using SkLookup.ControlPlane;
using SkLookup.Destinations;
using SkLookup.DataPlane;
using SkLookup.State;

namespace SkLookup;

/// <summary>Whole-set replacement and upgrades: new maps and a program for them, committed by <see cref="StateTransaction.Commit"/>.</summary>
public sealed partial class Dispatcher
{
    // ---------------------------------------------------------------- replace

    private static Dictionary<BindingMatch, Binding> Deduplicate(IReadOnlyCollection<Binding> bindings)
    {
        var desired = new Dictionary<BindingMatch, Binding>(bindings.Count);
        var validLabels = new HashSet<string>(StringComparer.Ordinal);
        foreach (var binding in bindings)
        {
            if (!validLabels.Contains(binding.Label))
                validLabels.Add(Label.Validate(binding.Label));
            if (desired.TryGetValue(binding.Match, out var other) && other.Label != binding.Label)
                throw new SteeringException(SteeringError.AlreadyExists,
                    $"'{other}' and '{binding}' match the same traffic with different labels: keep one of them");
            desired[binding.Match] = binding;
        }
        return desired;
    }

    /// <summary>
    /// Replaces the binding set as one marked write (<see cref="StateTransaction.WriteInPlace"/>): the destinations it
    /// makes before the swap, and those it collects after, are redone by the recovery if a crash comes in between.
    /// </summary>
    /// <remarks>
    /// The option maps are made afresh too, with <paramref name="optionChanges"/> (label to flags) made: every destination's
    /// options are its label's, so they are derived rather than copied, and a rebuild after an interrupted label change
    /// finishes that change.
    /// </remarks>
    private void ReplaceAll(Dictionary<BindingMatch, Binding> desired, IReadOnlyDictionary<string, DestinationFlags>? optionChanges = null) =>
        _state.WriteInPlace(WriteKind.Apply, () => ReplaceAllMarked(desired, optionChanges ?? new Dictionary<string, DestinationFlags>()));

    private void ReplaceAllMarked(Dictionary<BindingMatch, Binding> desired, IReadOnlyDictionary<string, DestinationFlags> optionChanges)
    {
        var destinations = DestinationsTable();
        var ids = new Dictionary<BindingMatch, uint>(desired.Count);
        var newMaps = new Dictionary<string, BpfMap>();
        BpfProgram? program = null;
        try
        {
            var count4 = 0;
            foreach (var (match, binding) in desired)
            {
                ids[match] = destinations.GetOrCreate(new Destination(binding.Label, binding.Family, binding.Protocol));
                if (binding.Family == Family.IPv4)
                    count4++;
            }
            if (count4 > DispatcherLayout.MaxBindings || desired.Count - count4 > DispatcherLayout.MaxBindings)
                throw new SteeringException(SteeringError.CapacityExceeded,
                    $"the set has {count4} IPv4 and {desired.Count - count4} IPv6 bindings; each family holds at most {DispatcherLayout.MaxBindings}");

            var (labelOptions, destinationOptions) = destinations.CreateOptions(optionChanges);
            newMaps[ControlLayout.LabelOptions.Name] = labelOptions;
            newMaps[DispatcherLayout.DestinationOptions.Name] = destinationOptions;
            var bindings4 = Created(newMaps, DispatcherLayout.Bindings4);
            var bindings6 = Created(newMaps, DispatcherLayout.Bindings6);
            var ports = Created(newMaps, DispatcherLayout.Ports);
            BindingMapWriter.Fill(bindings4, bindings6, ports, ids, count4);
            // The summary of the new set goes in with its binding maps (the meta record then says it is valid).
            var (summaryMap, summary) = BindingSummary.Create(ids, destinations.All.Select(pair => pair.Value));
            newMaps[ControlLayout.Summary.Name] = summaryMap;
            var state = BindingState.FromEntries(ids);
            var shape = state.Shape();
            program = DispatcherLoader.Load(shape, _state.Maps.With(newMaps));
            _state.Commit(newMaps, program, shape.Fingerprint);
            _bindings = state;
            _destinations = null; // It holds the option maps the commit replaced.
            CurrentSummary = summary;
        }
        catch
        {
            program?.Dispose();
            foreach (var map in newMaps.Values)
                map.Dispose();
            // Destinations created for the new set are unused: the old set is still the one in place.
            foreach (var id in ids.Values)
                CollectIfUnused(id);
            throw;
        }
        // Destinations only the old set used go now that no program can reach them.
        foreach (var (_, id) in DestinationsTable().All.ToList())
            CollectIfUnused(id);
    }

    // ---------------------------------------------------------------- upgrade

    /// <summary>Creates the map of <paramref name="spec"/> and adds it to <paramref name="newMaps"/>, which then own it.</summary>
    private static BpfMap Created(Dictionary<string, BpfMap> newMaps, MapSpec spec)
    {
        var map = BpfMap.Create(spec);
        newMaps[spec.Name] = map;
        return map;
    }

    private UpgradeResult UpgradeLocked()
    {
        var meta = _state.Maps.ReadMeta();
        var from = $"{meta?.VersionText ?? "unknown version"}, program tag {_state.Program.Info.Tag}";
        var layoutCurrent = meta is not null && meta.LayoutVersion == DispatcherLayout.Version && AllMapsCompatible();
        var migrated = false;
        if (!layoutCurrent)
        {
            MigrateMaps(meta?.LayoutVersion);
            migrated = true;
        }
        else
        {
            var shape = BindingsState().Shape();
            _state.Recover(meta!, shape, _state.RunsGenerated(shape), Rebuild);
            // A state an older version built (or wrote to) gets its binding summary here, as the next write would build it.
            Summary();
        }
        var to = $"{_state.Maps.ReadMeta()!.VersionText}, program tag {_state.Program.Info.Tag}";
        return new UpgradeResult(from, to, migrated);
    }

    private bool AllMapsCompatible()
    {
        foreach (var spec in ControlLayout.AllMaps)
        {
            if (_state.Maps.Find(spec) is not { } map)
                return false;
            try
            {
                map.CheckCompatible(spec);
            }
            catch (BpfException)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Rebuilds every map in this version's layout and swaps them in with the program, as
    /// <see cref="ReplaceAll"/> does. Entries are copied as they are: a map whose key or value changed
    /// shape needs a conversion, and there is none yet, so such a state is refused rather than guessed at.
    /// The sockets map is kept when its shape is unchanged, because user space cannot copy sockets
    /// (a lookup returns a cookie, not a descriptor).
    /// </summary>
    private void MigrateMaps(uint? fromLayout)
    {
        var newMaps = new Dictionary<string, BpfMap>();
        BpfProgram? program = null;
        try
        {
            foreach (var spec in ControlLayout.AllMaps)
            {
                var old = _state.Maps.Find(spec);
                if (spec == DispatcherLayout.Sockets && old is not null && IsCompatible(old, spec))
                    continue;
                var map = BpfMap.Create(spec);
                newMaps[spec.Name] = map;
                if (old is null || spec == ControlLayout.Meta)
                    continue;
                if (old.KeySize != map.KeySize || old.ValueSize != map.ValueSize)
                    throw new SteeringException(SteeringError.VersionMismatch,
                        $"cannot upgrade from layout {fromLayout?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}: map {spec.Name} changed shape ({old.Info.KeySize}/{old.Info.ValueSize} to {spec.KeySize}/{spec.ValueSize} bytes) and this version has no conversion for it; unload and load again");
                CopyEntries(old, map);
            }
            var programMaps = _state.Maps.With(newMaps);
            var state = BindingState.Read([programMaps[DispatcherLayout.Bindings4.Name], programMaps[DispatcherLayout.Bindings6.Name]]);
            // The binding summary is derived, never copied: counted afresh from the copied bindings.
            var labels = newMaps.TryGetValue(ControlLayout.Labels.Name, out var copiedLabels) ? copiedLabels : _state.Maps.Labels;
            var (summaryMap, summary) = BindingSummary.Create(state.Entries, labels.LookupAll().Select(pair => BitConverter.ToUInt32(pair.Value)).Where(id => id < DispatcherLayout.MaxDestinations));
            newMaps[ControlLayout.Summary.Name] = summaryMap;
            var shape = state.Shape();
            program = DispatcherLoader.Load(shape, programMaps);
            // The new meta record goes in with the new maps, so a crash leaves the old record with the old maps or the new with the new.
            _state.Commit(newMaps, program, shape.Fingerprint);
            _bindings = state;
            CurrentSummary = summary;
            _destinations = null;
        }
        catch
        {
            program?.Dispose();
            foreach (var map in newMaps.Values)
                map.Dispose();
            throw;
        }
    }

    private static bool IsCompatible(BpfMap map, MapSpec spec)
    {
        try
        {
            map.CheckCompatible(spec);
            return true;
        }
        catch (BpfException)
        {
            return false;
        }
    }

    private static void CopyEntries(BpfMap from, BpfMap to)
    {
        var entries = from.LookupAll();
        if (entries.Count == 0)
            return;
        var keys = new byte[entries.Count * to.KeySize];
        var values = new byte[entries.Count * to.ValueSize];
        for (var i = 0; i < entries.Count; i++)
        {
            entries[i].Key.CopyTo(keys, i * to.KeySize);
            entries[i].Value.CopyTo(values, i * to.ValueSize);
        }
        to.UpdateBatch(keys, values);
    }
}
