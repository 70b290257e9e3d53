using SkLookup.Bpf;
using SkLookup.ControlPlane;
using SkLookup.Destinations;
using SkLookup.DataPlane;
using SkLookup.State;

namespace SkLookup;

/// <summary>Program swaps, whole-set replacement, and upgrades.</summary>
public sealed partial class Dispatcher
{
    // ---------------------------------------------------------------- program swaps

    /// <summary>Sets or clears <see cref="DispatcherMeta.WriteInProgress"/>.</summary>
    private void MarkWriteInProgress(bool inProgress)
    {
        var map = _maps[ControlLayout.Meta.Name];
        var meta = DispatcherMeta.Read(map)!;
        if (meta.WriteInProgress != inProgress)
            (meta with { WriteInProgress = inProgress }).Write(map);
    }

    /// <summary>Generates the program for <paramref name="shape"/> and swaps it in over the attached one.</summary>
    private void Swap(DispatcherShape shape)
    {
        var program = DispatcherProgram.Load(shape, _maps);
        try
        {
            StageAndCommit(new Dictionary<string, BpfMap>(), program, shape.Fingerprint);
        }
        catch
        {
            program.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The one way state changes shape: pins <paramref name="newMaps"/> and <paramref name="program"/> next
    /// to their pins with <see cref="StatePaths.StagedSuffix"/>, records the new program in the meta record,
    /// swaps it in with one link update (only if the attached one is still the one this instance knows),
    /// then renames the staged pins over the old ones, the program last. A crash before the update leaves
    /// staged pins that the next writer deletes; after it, staged pins that the next writer renames
    /// (<see cref="StateDirectory.RecoverStaged"/>). Without a <paramref name="fingerprint"/>, only the pins change.
    /// </summary>
    private void StageAndCommit(IReadOnlyDictionary<string, BpfMap> newMaps, BpfProgram program, string? fingerprint = null)
    {
        var staged = new List<string>();
        try
        {
            if (fingerprint is not null)
            {
                // Written before the link update, naming both programs, so that whichever one a crash leaves
                // attached is recognised as this version's by the next writer.
                var generation = _maps.TryGetValue(ControlLayout.Meta.Name, out var oldMeta) ? DispatcherMeta.Read(oldMeta)?.Generation ?? 0 : 0;
                var metaMap = newMaps.TryGetValue(ControlLayout.Meta.Name, out var newMeta) ? newMeta : _maps[ControlLayout.Meta.Name];
                DispatcherMeta.Current(generation + 1, program.Info.Tag, _program.Info.Tag, fingerprint).Write(metaMap);
            }
            foreach (var (name, map) in newMaps)
            {
                var pin = Path.Combine(StatePath, name + StatePaths.StagedSuffix);
                StateDirectory.DeleteIfPresent(pin);
                StateDirectory.Pin(map, pin);
                staged.Add(pin);
            }
            var programPin = Path.Combine(StatePath, StatePaths.Program + StatePaths.StagedSuffix);
            StateDirectory.DeleteIfPresent(programPin);
            StateDirectory.Pin(program, programPin);
            staged.Add(programPin);
            if (program.Info.Id != _program.Info.Id)
                _link.Update(program, _program);
        }
        catch
        {
            foreach (var pin in staged)
                StateDirectory.DeleteIfPresent(pin);
            throw;
        }
        foreach (var pin in staged)
            BpfFileSystem.Rename(pin, pin[..^StatePaths.StagedSuffix.Length]);
        if (!ReferenceEquals(program, _program))
        {
            _program.Dispose();
            _program = program;
        }
        foreach (var (name, map) in newMaps)
        {
            if (_maps.Remove(name, out var old) && !ReferenceEquals(old, map))
                old.Dispose();
            _maps[name] = map;
        }
        if (fingerprint is not null)
            _attachedFingerprint = fingerprint;
    }

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

    private void ReplaceAll(Dictionary<BindingMatch, Binding> desired)
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

            newMaps[DispatcherLayout.Bindings4.Name] = BpfMap.Create(DispatcherLayout.Bindings4);
            newMaps[DispatcherLayout.Bindings6.Name] = BpfMap.Create(DispatcherLayout.Bindings6);
            newMaps[DispatcherLayout.Ports.Name] = BpfMap.Create(DispatcherLayout.Ports);
            BindingMapWriter.Fill(newMaps[DispatcherLayout.Bindings4.Name], newMaps[DispatcherLayout.Bindings6.Name],
                newMaps[DispatcherLayout.Ports.Name], ids, count4);
            var state = BindingState.FromEntries(ids);
            var shape = state.Shape();
            var programMaps = new Dictionary<string, BpfMap>(_maps);
            foreach (var (name, map) in newMaps)
                programMaps[name] = map;
            program = DispatcherProgram.Load(shape, programMaps);
            StageAndCommit(newMaps, program, shape.Fingerprint);
            _bindings = state;
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
        foreach (var (_, id) in destinations.All.ToList())
            CollectIfUnused(id);
    }

    // ---------------------------------------------------------------- upgrade

    private UpgradeResult UpgradeLocked()
    {
        var meta = _maps.TryGetValue(ControlLayout.Meta.Name, out var metaMap) ? DispatcherMeta.Read(metaMap) : null;
        var from = $"{meta?.VersionText ?? "unknown version"}, program tag {_program.Info.Tag}";
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
            if (meta!.WriteInProgress)
                Rebuild();
            else if (!ProgramTag.Matches(DispatcherProgram.Generate(shape), _program.Info.Tag) || meta.GeneratorVersion != DispatcherShape.GeneratorVersion)
                Swap(shape);
            else
                _attachedFingerprint = shape.Fingerprint;
        }
        _writesChecked = true;
        var to = $"{DispatcherMeta.Read(_maps[ControlLayout.Meta.Name])!.VersionText}, program tag {_program.Info.Tag}";
        return new UpgradeResult(from, to, migrated);
    }

    private bool AllMapsCompatible()
    {
        foreach (var spec in ControlLayout.AllMaps)
        {
            if (!_maps.TryGetValue(spec.Name, out var map))
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
                _maps.TryGetValue(spec.Name, out var old);
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
            var programMaps = new Dictionary<string, BpfMap>(_maps);
            foreach (var (name, map) in newMaps)
                programMaps[name] = map;
            var state = BindingState.Read(programMaps[DispatcherLayout.Bindings4.Name], programMaps[DispatcherLayout.Bindings6.Name]);
            var shape = state.Shape();
            program = DispatcherProgram.Load(shape, programMaps);
            // The new meta record goes in with the new maps, so a crash leaves the old record with the old maps or the new with the new.
            StageAndCommit(newMaps, program, shape.Fingerprint);
            _bindings = state;
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
