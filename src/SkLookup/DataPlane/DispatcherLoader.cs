using SkLookup.Bpf;

namespace SkLookup.DataPlane;

/// <summary>
/// The kernel side of the generated dispatcher: loads a <see cref="DispatcherProgram"/> with the probe
/// tables and prefilters it owns, and updates those tables in place. Kept apart from the generator, which
/// is pure code, because this is kernel I/O that fails with <see cref="SteeringException"/>s.
/// </summary>
internal static class DispatcherLoader
{
    /// <summary>
    /// Generates the program for <paramref name="shape"/> and loads it with <paramref name="maps"/> (the
    /// maps of <see cref="DispatcherLayout"/>, by name) and new probe tables filled from the shape. The
    /// tables belong to the program: they live as long as it does, and a new program brings new ones,
    /// so swapping programs switches tables atomically.
    /// </summary>
    public static BpfProgram Load(DispatcherShape shape, IReadOnlyDictionary<string, BpfMap> maps)
    {
        var spec = DispatcherProgram.Generate(shape);
        var all = new Dictionary<string, BpfMap>(maps);
        var tables = new List<BpfMap>();
        try
        {
            foreach (var (family, layout) in shape.Tables)
            {
                var table = ProbeTable.Create(family, layout.Bits, layout.Buckets);
                tables.Add(table);
                all[ProbeTable.MapName(family)] = table;
                var filter = AddressPrefilter.Create(family, layout.Prefilter);
                tables.Add(filter);
                all[AddressPrefilter.MapName(family)] = filter;
            }
            return BpfProgram.Load(spec, all);
        }
        finally
        {
            foreach (var table in tables)
                table.Dispose();
        }
    }

    /// <summary>
    /// Brings the probe tables of a loaded <paramref name="program"/> up to date after bindings of hashed
    /// classes were removed and added, without a new program. Returns false when that is not possible
    /// (the shape's fingerprint changed, a change is in a class of <see cref="LengthSearch"/> form, or a key found no
    /// free slot): then load a new program and swap it in.
    /// </summary>
    public static bool TryUpdateInPlace(BpfProgram program, string loadedFingerprint, DispatcherShape shape,
        IEnumerable<BindingMatch> removed, IEnumerable<(BindingMatch Match, uint DestinationId)> added)
    {
        if (loadedFingerprint != shape.Fingerprint)
            return false;
        // A searched class's markers and their best matching prefixes depend on bindings of other lengths: a change
        // there builds the program and its tables anew (LengthSearch).
        var searched = shape.Classes.Where(c => c.Search is not null).Select(c => c.Class).ToHashSet();
        if (searched.Count > 0 && removed.Concat(added.Select(a => a.Match)).Any(match => searched.Contains(TrafficClasses.Of(match.Family, match.Protocol))))
            return false;
        return TryUpdateTables(program, shape.HashedFamilies, removed, added);
    }

    /// <summary>
    /// The in-place part of <see cref="TryUpdateInPlace"/>, for a caller that knows otherwise that the program's code
    /// stays (the binding summary): updates the probe tables of <paramref name="hashedFamilies"/>, and skips the bindings
    /// of other families, whose classes are decision trees. False when a key found no free slot.
    /// </summary>
    public static bool TryUpdateTables(BpfProgram program, IReadOnlyCollection<Family> hashedFamilies,
        IEnumerable<BindingMatch> removed, IEnumerable<(BindingMatch Match, uint DestinationId)> added)
    {
        var tables = new Dictionary<Family, BpfMap>();
        try
        {
            BpfMap? Table(Family family)
            {
                if (!hashedFamilies.Contains(family))
                    return null; // The family's classes are decision trees: the fingerprint covers them.
                if (!tables.TryGetValue(family, out var table))
                {
                    table = ProgramMapIds.OpenByName(program, ProbeTable.MapName(family))
                        ?? throw new SteeringException(SteeringError.DamagedState, $"the dispatcher program has no {ProbeTable.MapName(family)} map: run upgrade");
                    tables[family] = table;
                }
                return table;
            }
            foreach (var match in removed)
            {
                var family = match.Family;
                if (Table(family) is { } table)
                    ProbeTable.Remove(table, family, BindingKey.Encode(match));
            }
            foreach (var (match, id) in added)
            {
                var family = match.Family;
                if (Table(family) is not { } table)
                    continue;
                using var filter = ProgramMapIds.OpenByName(program, AddressPrefilter.MapName(family))
                    ?? throw new SteeringException(SteeringError.DamagedState, $"the dispatcher program has no {AddressPrefilter.MapName(family)} map: run upgrade");
                // The filter first: a lookup that sees the bit before the key finds nothing, as before the insert.
                AddressPrefilter.Add(filter, family, match);
                if (!ProbeTable.TryInsert(table, family, BindingKey.Encode(match), id))
                    return false;
            }
            return true;
        }
        finally
        {
            foreach (var table in tables.Values)
                table.Dispose();
        }
    }
}
