using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.IO.Hashing;
using System.Text;

namespace SkLookup.DataPlane;

/// <summary>One hash probe of a traffic class: a prefix length, with the packet's port or with port 0 (any).</summary>
/// <param name="PrefixLength">The prefix length whose bindings the probe looks up.</param>
/// <param name="SpecificPort">True to probe with the packet's port, false with 0 (any port).</param>
internal readonly record struct HashProbe(int PrefixLength, bool SpecificPort);

/// <summary>A binding compiled into the program as compares, with its destination.</summary>
/// <param name="Match">What it matches.</param>
/// <param name="DestinationId">Where it sends the packet.</param>
internal readonly record struct InlineBinding(BindingMatch Match, uint DestinationId);

/// <summary>
/// How the dispatcher looks up one traffic class. A small class is compiled into straight-line compares
/// (<see cref="Inline"/>), a larger one into hash probes, one per prefix length present, in precedence order, or,
/// with many lengths, a binary search on them (<see cref="Search"/>).
/// </summary>
/// <param name="Class">The traffic class.</param>
/// <param name="Inline">The bindings compiled as compares, most specific first; null for a hashed class.</param>
/// <param name="Probes">The hash probes, most specific first; empty for an inline class.</param>
/// <param name="Search">For a hashed class with many probes, the binary search on its prefix lengths that replaces running them in turn.</param>
internal sealed record ClassShape(TrafficClass Class, IReadOnlyList<InlineBinding>? Inline, IReadOnlyList<HashProbe> Probes, LengthSearch? Search = null)
{
    /// <summary>True if some probe uses the packet's port, so the ports map can rule them all out at once.</summary>
    public bool HasSpecificPortProbes => Probes.Any(probe => probe.SpecificPort);

    /// <summary>True if some probe is for any port.</summary>
    public bool HasAnyPortProbes => Probes.Any(probe => !probe.SpecificPort);
}

/// <summary>The size of a family's probe table (2^<paramref name="Bits"/> buckets) and the buckets that are in use, by index.</summary>
/// <param name="Bits">The table holds 2^Bits buckets.</param>
/// <param name="Buckets">The occupied buckets: index to bucket bytes.</param>
/// <param name="Prefilter">The <see cref="AddressPrefilter"/> masks, one per bucket.</param>
internal sealed record ProbeTableLayout(int Bits, IReadOnlyDictionary<uint, byte[]> Buckets, ulong[] Prefilter);

/// <summary>
/// What the generated dispatcher is specialised to: for each traffic class that has bindings, either the
/// bindings themselves (a few) or the prefix lengths present (many). Two equal shapes generate the same
/// program; <see cref="Fingerprint"/> tells when the program must be regenerated.
/// </summary>
internal sealed class DispatcherShape
{
    /// <summary>Up to this many bindings in a class are compiled into decision trees instead of hash probes.</summary>
    public const int InlineLimit = 512;

    /// <summary>Changes whenever the generator emits different code for the same shape.</summary>
    public const string GeneratorVersion = "sk_dispatcher/10";

    private readonly Dictionary<Family, List<InlineBinding>> _hashed;
    private readonly Lazy<IReadOnlyDictionary<Family, ProbeTableLayout>> _tables;

    private DispatcherShape(IReadOnlyList<ClassShape> classes, int inlineLimit, Dictionary<Family, List<InlineBinding>> hashed)
    {
        Classes = classes;
        InlineLimitUsed = inlineLimit;
        _hashed = hashed;
        _tables = new(PlaceTables);
        Fingerprint = ComputeFingerprint();
    }

    /// <summary>
    /// The probe table of each family that has hashed classes: its size, and where each key sits. Placing
    /// the keys takes time in proportion to their number, so it happens only when a program is built.
    /// </summary>
    public IReadOnlyDictionary<Family, ProbeTableLayout> Tables => _tables.Value;

    /// <summary>The families whose large classes are looked up in a probe table.</summary>
    public IReadOnlyCollection<Family> HashedFamilies => _hashed.Keys;

    /// <summary>The classes that have bindings, in <see cref="TrafficClass"/> order.</summary>
    public IReadOnlyList<ClassShape> Classes { get; }

    /// <summary>The inline limit this shape was built with.</summary>
    public int InlineLimitUsed { get; }

    /// <summary>A stable hash of the shape and the generator version.</summary>
    public string Fingerprint { get; }

    /// <summary>The shape of no bindings at all: the program passes everything.</summary>
    public static DispatcherShape Empty { get; } = new([], InlineLimit, []);

    /// <summary>Derives the shape from the bindings (with their destination ids).</summary>
    /// <param name="bindings">The bindings.</param>
    /// <param name="inlineLimit">Up to this many bindings a class is compiled into decision trees.</param>
    /// <param name="searchThreshold">From this many probes a hashed class is searched (<see cref="LengthSearch"/>); the benchmark varies it to compare the forms.</param>
    public static DispatcherShape From(IEnumerable<(BindingMatch Match, uint DestinationId)> bindings, int inlineLimit = InlineLimit,
        int searchThreshold = LengthSearch.Threshold)
    {
        var byClass = new Dictionary<TrafficClass, List<InlineBinding>>();
        foreach (var (match, id) in bindings)
        {
            var family = match.Family;
            var trafficClass = TrafficClasses.Of(family, match.Protocol);
            if (!byClass.TryGetValue(trafficClass, out var list))
                byClass[trafficClass] = list = [];
            list.Add(new InlineBinding(match, id));
        }
        var classes = new List<ClassShape>();
        var hashed = new Dictionary<Family, List<InlineBinding>>();
        foreach (var trafficClass in TrafficClasses.All)
        {
            if (!byClass.TryGetValue(trafficClass, out var list))
                continue;
            if (list.Count <= inlineLimit)
            {
                list.Sort(CompareInline);
                classes.Add(new ClassShape(trafficClass, list, []));
                continue;
            }
            var probes = new SortedSet<HashProbe>(Comparer<HashProbe>.Create(CompareProbes));
            foreach (var entry in list)
                probes.Add(new HashProbe(entry.Match.Prefix.PrefixLength, entry.Match.Port != 0));
            var search = probes.Count >= searchThreshold
                ? new LengthSearch(probes.Where(p => p.SpecificPort).Select(p => p.PrefixLength).Order().ToArray(),
                    probes.Where(p => !p.SpecificPort).Select(p => p.PrefixLength).Order().ToArray())
                : null;
            classes.Add(new ClassShape(trafficClass, null, probes.ToList(), search));
            var family = trafficClass.Family();
            if (hashed.TryGetValue(family, out var entries))
                entries.AddRange(list);
            else
                hashed[family] = list;
        }
        return new DispatcherShape(classes, inlineLimit, hashed);
    }

    private IReadOnlyDictionary<Family, ProbeTableLayout> PlaceTables()
    {
        var tables = new Dictionary<Family, ProbeTableLayout>();
        foreach (var (family, entries) in _hashed)
        {
            var keys = new List<(byte[] Key, uint DestinationId)>(entries.Count);
            var searched = Classes.Where(c => c.Search is not null && c.Class.Family() == family).ToDictionary(c => c.Class.Protocol());
            foreach (var entry in entries)
                if (!searched.ContainsKey(entry.Match.Protocol))
                    keys.Add((BindingKey.Encode(entry.Match), entry.DestinationId));
            // A searched class's keys are its bindings and their markers, each with its best matching prefix.
            foreach (var (protocol, shape) in searched)
                keys.AddRange(shape.Search!.Entries(shape.Class, entries.Where(entry => entry.Match.Protocol == protocol)));
            var (bits, slots) = ProbeTable.Place(family, keys);
            var prefilter = entries.Where(entry => !searched.ContainsKey(entry.Match.Protocol))
                .Select(entry => (entry.Match.Prefix, entry.Match.Prefix.PrefixLength, entry.Match.Port != 0));
            foreach (var (protocol, shape) in searched)
                prefilter = prefilter.Concat(shape.Search!.PrefilterProbes(entries.Where(entry => entry.Match.Protocol == protocol)));
            tables[family] = new ProbeTableLayout(bits, slots, AddressPrefilter.Build(family, prefilter));
        }
        return tables;
    }

    /// <summary>Longer prefixes first; on an equal length, the specific-port probe first.</summary>
    private static int CompareProbes(HashProbe a, HashProbe b)
    {
        var byLength = b.PrefixLength.CompareTo(a.PrefixLength);
        return byLength != 0 ? byLength : b.SpecificPort.CompareTo(a.SpecificPort);
    }

    private static int CompareInline(InlineBinding a, InlineBinding b)
    {
        var byProbe = CompareProbes(new(a.Match.Prefix.PrefixLength, a.Match.Port != 0), new(b.Match.Prefix.PrefixLength, b.Match.Port != 0));
        if (byProbe != 0)
            return byProbe;
        var byPort = a.Match.Port.CompareTo(b.Match.Port);
        // By their bytes, not their text: formatting both prefixes of every compare was 3% of a bind's CPU time at 200 bindings (perf).
        return byPort != 0 ? byPort : BindingTable.CompareAddresses(a.Match.Prefix.BaseAddress, b.Match.Prefix.BaseAddress);
    }

    private string ComputeFingerprint()
    {
        var text = new StringBuilder(GeneratorVersion).Append(CultureInfo.InvariantCulture, $";inline={InlineLimitUsed}");
        foreach (var shape in Classes)
        {
            text.Append(CultureInfo.InvariantCulture, $";{shape.Class}:");
            if (shape.Inline is { } inline)
                foreach (var entry in inline)
                    text.Append(CultureInfo.InvariantCulture, $"i{entry.Match.Prefix}|{entry.Match.Port}|{entry.DestinationId},");
            foreach (var probe in shape.Probes)
                text.Append(CultureInfo.InvariantCulture, $"p{probe.PrefixLength}{(probe.SpecificPort ? "s" : "a")},");
            if (shape.Search is not null)
                text.Append("search");
        }
        // The table's contents change in place, and so may its size when a placement needs a larger one;
        // a program is due when the smallest size that the count allows changes.
        foreach (var (family, entries) in _hashed.OrderBy(t => t.Key))
            text.Append(CultureInfo.InvariantCulture, $";table{family}={ProbeTable.MinimumBits(entries.Count)}x{ProbeTable.SlotsPerBucket}");
        // Not a cryptographic hash: one would load OpenSSL, which costs a short command more than its whole budget.
        return Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The 32-bit word <paramref name="word"/> of the network mask for <paramref name="prefixLength"/>, as a little-endian load of network-order bytes sees it.</summary>
    internal static uint MaskWord(int prefixLength, int word)
    {
        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
        {
            var bitsBefore = (word * 4 + i) * 8;
            var bits = Math.Clamp(prefixLength - bitsBefore, 0, 8);
            bytes[i] = (byte)(0xff00 >> bits);
        }
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    /// <inheritdoc />
    public override string ToString() => string.Join("; ", Classes.Select(c => c.Inline is { } inline
        ? $"{c.Class}: {inline.Count} inline"
        : $"{c.Class}: {(c.Search is null ? "probes" : "search on")} {string.Join(",", c.Probes.Select(p => $"/{p.PrefixLength}{(p.SpecificPort ? "" : ":any")}"))}"));
}
