using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.ControlPlane;
using SkLookup.DataPlane;
using SkLookup.State;

namespace SkLookup.Tests.ControlPlane;

/// <summary>
/// One bind, unbind or move at a time, decided from the binding summary (<see cref="BindingSummary"/>) instead of every
/// binding: the result must be what a full rebuild gives, the summary must count what the maps hold, and writers that
/// race must lose nothing.
/// </summary>
public sealed class SingleChangeTests
{
    private static readonly string[] Labels = ["a", "b", "c", "d"];

    /// <summary>A binding of a few prefix lengths and ports, so that probes come and go, in the class <paramref name="classIndex"/>.</summary>
    private static Binding RandomBinding(Random random, int classIndex)
    {
        var protocol = classIndex % 2 == 0 ? "tcp" : "udp";
        var v6 = classIndex >= 2;
        int[] lengths = v6 ? [128, 64, 48] : [32, 24, 16];
        var length = lengths[random.Next(lengths.Length)];
        string prefix;
        if (v6)
        {
            var address = IPAddress.Parse($"2001:db8:{random.Next(1, 64):x}:{random.Next(65536):x}::{random.Next(1, 65536):x}");
            prefix = new IPNetwork(Mask(address, length), length).ToString();
        }
        else
        {
            var address = IPAddress.Parse($"10.{random.Next(1, 64)}.{random.Next(256)}.{random.Next(1, 255)}");
            prefix = new IPNetwork(Mask(address, length), length).ToString();
        }
        var port = random.Next(4) == 0 ? "any" : (80 + random.Next(3)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Scenario.B(Labels[random.Next(Labels.Length)], protocol, prefix, port);
    }

    /// <summary>Adds bindings of class <paramref name="classIndex"/> to <paramref name="set"/> until it holds <paramref name="count"/> of them.</summary>
    private static void Draw(Random random, int classIndex, int count, Dictionary<BindingMatch, Binding> set)
    {
        var have = set.Values.Count(b => (int)TrafficClasses.Of(b.Family, b.Protocol) == classIndex);
        while (have < count)
        {
            var binding = RandomBinding(random, classIndex);
            if (set.TryAdd(binding.Match, binding))
                have++;
        }
    }

    private static IPAddress Mask(IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = length; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }

    private static List<(BindingMatch Match, uint Id)> Pairs(Dispatcher d) =>
        d.Bindings().Select(b => (b.Match, d.DestinationIdOf(b.Match)!.Value)).ToList();

    /// <summary>The summary in the maps equals a fresh count of the bindings, and the meta record trusts it.</summary>
    private static void AssertSummaryMatches(Dispatcher d, string what)
    {
        var pairs = Pairs(d);
        var expected = BindingSummary.Count(pairs.ToDictionary(p => p.Match, p => p.Id));
        // The used-id bitmap holds exactly the ids of the labels map.
        BindingSummary.AddUsedIds(expected, d.Map(ControlLayout.Labels.Name).LookupAll().Select(pair => BitConverter.ToUInt32(pair.Value)));
        var actual = BindingSummary.ReadAll(d.Map(ControlLayout.Summary.Name));
        // The free-id hint is no count: it may be lower than the first word with a free id, never higher.
        var hint = actual.Remove(BindingSummary.FreeHintKey, out var word) ? word : 0;
        for (uint below = 0; below < hint; below++)
            Assert.True(expected.GetValueOrDefault(BindingSummary.UsedIdsKeyOf(below)) == uint.MaxValue, $"{what}: the free-id hint {hint} skips word {below}, which has a free id");
        Assert.True(expected.Count == actual.Count && expected.All(e => actual.TryGetValue(e.Key, out var v) && v == e.Value),
            $"{what}: the summary differs from a fresh count ({actual.Count} entries, expected {expected.Count}; " +
            string.Join(", ", expected.Where(e => actual.GetValueOrDefault(e.Key) != e.Value).Take(5).Select(e => $"{e.Key:x}: {actual.GetValueOrDefault(e.Key)} not {e.Value}")) + ")");
        var meta = DispatcherMeta.Read(d.Map(ControlLayout.Meta.Name))!;
        Assert.True(meta.SummaryValid, $"{what}: the meta record does not trust the summary");
        Assert.False(meta.WriteInProgress, $"{what}: a write is still marked");
    }

    [Fact]
    public void IncrementalBindsUnbindsAndMovesMatchAFullRebuild()
    {
        var seed = Environment.GetEnvironmentVariable("SKLOOKUP_PROPERTY_SEED") is { } text ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : 20261202;
        var random = new Random(seed);
        using var scenario = new Scenario();
        using var sockets = new SocketSet(scenario, Labels[..3]);
        // tcp4 and udp6 above the inline limit (probe tables), udp4 and tcp6 below it (decision trees), one near it.
        var set = new Dictionary<BindingMatch, Binding>();
        foreach (var (classIndex, count) in new[] { (0, 700), (3, DispatcherShape.InlineLimit + 2), (1, 40), (2, 30) })
            Draw(random, classIndex, count, set);
        scenario.D.ReplaceBindings(set.Values.ToList(), dryRun: false);
        scenario.Close();
        var inPlace = 0;
        var swapped = 0;
        for (var step = 0; step < 120; step++)
        {
            using var d = scenario.Open(write: true);
            var before = d.Link!.ReadInfo().ProgramId;
            var kind = random.Next(3);
            var current = d.Bindings();
            // Mostly the classes near or above the limit, where the summary decides.
            var classIndex = random.Next(4) switch { 0 => random.Next(4), 1 => 3, _ => 0 };
            string what;
            Binding changed;
            if (kind == 0 || current.Count == 0)
            {
                changed = RandomBinding(random, classIndex);
                what = $"step {step} (seed {seed}): bind {changed}";
                if (current.Any(b => b.Match == changed.Match))
                    continue;
                d.AddBinding(changed);
            }
            else
            {
                var ofClass = current.Where(b => (int)TrafficClasses.Of(b.Family, b.Protocol) == classIndex).ToList();
                var pick = ofClass.Count > 0 ? ofClass[random.Next(ofClass.Count)] : current[random.Next(current.Count)];
                if (kind == 1)
                {
                    changed = pick;
                    what = $"step {step} (seed {seed}): unbind {pick}";
                    Assert.True(d.RemoveBinding(pick), what);
                }
                else
                {
                    changed = pick with { Label = Labels.First(l => l != pick.Label) };
                    what = $"step {step} (seed {seed}): move {pick} to {changed.Label}";
                    Assert.Equal(pick, d.MoveBinding(changed));
                }
            }
            if (d.Link!.ReadInfo().ProgramId == before)
                inPlace++;
            else
                swapped++;
            AssertSummaryMatches(d, what);
            // The attached program answers as one built fresh from the same bindings.
            var pairs = Pairs(d);
            using var fresh = DispatcherLoader.Load(DispatcherShape.From(pairs), ControlLayout.AllMaps.ToDictionary(spec => spec.Name, spec => d.Map(spec.Name)));
            using var attached = BpfProgram.OpenById(d.Link!.ReadInfo().ProgramId);
            var probes = new List<(Protocol, string, ushort)> { (changed.Protocol, changed.Prefix.BaseAddress.ToString(), changed.Port == 0 ? (ushort)81 : changed.Port) };
            foreach (var other in pairs.OrderBy(_ => random.Next()).Take(6))
                probes.Add((other.Match.Protocol, other.Match.Prefix.BaseAddress.ToString(), other.Match.Port == 0 ? (ushort)82 : other.Match.Port));
            foreach (var (protocol, address, port) in probes)
            {
                var expected = Scenario.Run(fresh, protocol, address, port);
                var actual = Scenario.Run(attached, protocol, address, port);
                Assert.True(expected.Verdict == actual.Verdict && expected.SelectedSocketCookie == actual.SelectedSocketCookie,
                    $"{what}: {protocol.Name()} {address} port {port}: the program says {actual.Verdict} {sockets.LabelOf(actual.SelectedSocketCookie)}, a fresh one {expected.Verdict} {sockets.LabelOf(expected.SelectedSocketCookie)}");
            }
        }
        // Both paths ran: changes the probe tables took in place, and changes that needed a new program.
        Assert.True(inPlace > 20, $"only {inPlace} changes were made in place ({swapped} swapped)");
        Assert.True(swapped > 5, $"only {swapped} changes swapped the program ({inPlace} in place)");
    }

    /// <summary>
    /// A class searched by prefix length (<see cref="LengthSearch"/>: a probe table with 16 or more probes) carries each
    /// binding's best matching prefix in its markers, so a change there may never be made in place, whatever the summary
    /// says of its probes: binds nested inside other prefixes, and their unbinds, must answer as a fresh program does.
    /// </summary>
    [Fact]
    public void ChangesInASearchedClassMatchAFullRebuild()
    {
        var random = new Random(20261203);
        using var scenario = new Scenario();
        using var sockets = new SocketSet(scenario, Labels[..3]);
        var set = new Dictionary<BindingMatch, Binding>();
        while (set.Count < DispatcherShape.InlineLimit + 200)
        {
            var length = 8 + random.Next(24);
            var address = IPAddress.Parse($"10.{random.Next(4)}.{random.Next(256)}.{random.Next(256)}");
            var binding = Scenario.B(Labels[random.Next(3)], "tcp", new IPNetwork(Mask(address, length), length).ToString(), "80");
            set.TryAdd(binding.Match, binding);
        }
        scenario.D.ReplaceBindings(set.Values.ToList(), dryRun: false);
        scenario.Close();
        for (var step = 0; step < 12; step++)
        {
            using var d = scenario.Open(write: true);
            // Inside an existing prefix, at a length the class has already: the summary sees no probe come or go.
            var outer = set.Values.Where(b => b.Prefix.PrefixLength < 24).OrderBy(_ => random.Next()).First();
            var length = outer.Prefix.PrefixLength + 1 + random.Next(24 - outer.Prefix.PrefixLength);
            var baseAddress = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(outer.Prefix.BaseAddress.GetAddressBytes());
            var within = (uint)random.NextInt64(1L << (32 - outer.Prefix.PrefixLength));
            var bytes = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, baseAddress + within);
            var inner = Scenario.B(Labels.First(l => l != outer.Label), "tcp", new IPNetwork(Mask(new IPAddress(bytes), length), length).ToString(), "80");
            if (set.ContainsKey(inner.Match))
                continue;
            var what = $"step {step}: bind {inner} inside {outer}";
            if (step % 2 == 0)
            {
                d.AddBinding(inner);
                set[inner.Match] = inner;
            }
            else
            {
                var gone = set.Values.Where(b => b.Prefix.PrefixLength > 8).OrderBy(_ => random.Next()).First();
                what = $"step {step}: unbind {gone}";
                Assert.True(d.RemoveBinding(gone), what);
                set.Remove(gone.Match);
                inner = gone;
            }
            var pairs = Pairs(d);
            var shape = DispatcherShape.From(pairs);
            Assert.True(shape.Classes.Any(c => c.Search is not null), $"{what}: the class is not searched");
            using var fresh = DispatcherLoader.Load(shape, ControlLayout.AllMaps.ToDictionary(spec => spec.Name, spec => d.Map(spec.Name)));
            using var attached = BpfProgram.OpenById(d.Link!.ReadInfo().ProgramId);
            foreach (var address in new[] { inner.Prefix.BaseAddress.ToString() }.Concat(pairs.OrderBy(_ => random.Next()).Take(8).Select(p => p.Match.Prefix.BaseAddress.ToString())))
            {
                var expected = Scenario.Run(fresh, Protocol.Tcp, address, 80);
                var actual = Scenario.Run(attached, Protocol.Tcp, address, 80);
                Assert.True(expected.Verdict == actual.Verdict && expected.SelectedSocketCookie == actual.SelectedSocketCookie,
                    $"{what}: tcp {address} port 80: the program says {actual.Verdict} {sockets.LabelOf(actual.SelectedSocketCookie)}, a fresh one {expected.Verdict} {sockets.LabelOf(expected.SelectedSocketCookie)}");
            }
        }
    }

    /// <summary>What the generated code depends on, apart from the probe table's size: each class's form, its inline bindings or its probes.</summary>
    private static string Code(DispatcherShape shape) => string.Join(";", shape.Classes.Select(c => c.Inline is { } inline
        ? $"{c.Class}:i" + string.Join(",", inline.Select(b => $"{b.Match.Prefix}|{b.Match.Port}|{b.DestinationId}"))
        : $"{c.Class}:p" + string.Join(",", c.Probes.Select(p => $"{p.PrefixLength}{p.SpecificPort}"))));

    /// <summary>The summary's decision equals the shape's: the same code (classes, inline bindings, probes) before and after.</summary>
    [Fact]
    public void KeepsProgramAgreesWithTheShape()
    {
        var random = new Random(7);
        for (var round = 0; round < 40; round++)
        {
            // Classes around the inline limit, and around a probe table size boundary (MinimumBits steps at 512 keys per
            // 256 buckets: 512, 1024, ...).
            var entries = new Dictionary<BindingMatch, uint>();
            var sizes = new[] { DispatcherShape.InlineLimit - 1 + random.Next(4), 10 + random.Next(5), 1020 + random.Next(8), DispatcherShape.InlineLimit + random.Next(3) };
            for (var classIndex = 0; classIndex < 4; classIndex++)
                while (entries.Keys.Count(m => (int)TrafficClasses.Of(m.Family, m.Protocol) == classIndex) < sizes[classIndex])
                    entries.TryAdd(RandomBinding(random, classIndex).Match, (uint)random.Next(4));
            var state = BindingState.FromEntries(new Dictionary<BindingMatch, uint>(entries));
            var summary = BindingSummary.FromCounts(BindingSummary.Count(entries));
            var fingerprint = Code(state.Shape());
            for (var change = 0; change < 30; change++)
            {
                var classIndex = random.Next(4);
                if (random.Next(2) == 0)
                {
                    var added = RandomBinding(random, classIndex).Match;
                    if (entries.ContainsKey(added))
                        continue;
                    Assert.Equal(Code(state.ShapeWith(added, 1)) == fingerprint, summary.KeepsProgram(added, +1, out _));
                }
                else
                {
                    var ofClass = entries.Keys.Where(m => (int)TrafficClasses.Of(m.Family, m.Protocol) == classIndex).ToList();
                    var removed = ofClass[random.Next(ofClass.Count)];
                    Assert.Equal(Code(state.ShapeWith(removed, null)) == fingerprint, summary.KeepsProgram(removed, -1, out _));
                    Assert.Equal(Code(state.ShapeWith(removed, entries[removed] + 1)) == fingerprint, summary.KeepsProgramOnMove(removed));
                }
            }
        }
    }

    [Fact]
    public void SixteenConcurrentWritersLoseNothingAndDoNotDeadlock()
    {
        const int Writers = 16, PerWriter = 8;
        using var scenario = new Scenario();
        var random = new Random(16);
        var set = new Dictionary<BindingMatch, Binding>();
        Draw(random, 0, 600, set);
        scenario.D.ReplaceBindings(set.Values.ToList(), dryRun: false);
        scenario.Close();
        using var start = new Barrier(Writers + 1);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var stop = false;
        var reads = 0;
        var threads = Enumerable.Range(0, Writers).Select(writer => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                for (var i = 0; i < PerWriter; i++)
                {
                    var own = Scenario.B($"w{writer}", i % 2 == 0 ? "tcp" : "udp", $"198.18.{writer}.{i + 1}", "443");
                    using (var d = scenario.Open(write: true, timeout: TestKit.TestTiming.Scale(TimeSpan.FromSeconds(120))))
                        d.AddBinding(own);
                    // Every other binding goes again, so that unbinds race with the binds of others.
                    if (i % 2 == 1)
                    {
                        using var d = scenario.Open(write: true, timeout: TestKit.TestTiming.Scale(TimeSpan.FromSeconds(120)));
                        if (!d.RemoveBinding(own))
                            failures.Enqueue($"writer {writer}: {own} was not there to unbind");
                    }
                }
            }
            catch (Exception exception)
            {
                failures.Enqueue($"writer {writer}: {exception.GetType().Name}: {exception.Message}");
            }
        })).ToList();
        // A reader lists the bindings all along: each listing holds the 600 and a whole number of the writers' changes.
        var reader = new Thread(() =>
        {
            start.SignalAndWait();
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    using var d = scenario.Open(timeout: TestKit.TestTiming.Scale(TimeSpan.FromSeconds(120)));
                    var listed = d.Bindings();
                    if (listed.Count(b => set.ContainsKey(b.Match)) != set.Count)
                        failures.Enqueue($"a reader listed {listed.Count(b => set.ContainsKey(b.Match))} of the {set.Count} bindings");
                    Interlocked.Increment(ref reads);
                }
                catch (Exception exception)
                {
                    failures.Enqueue($"reader: {exception.GetType().Name}: {exception.Message}");
                }
            }
        });
        foreach (var thread in threads)
            thread.Start();
        reader.Start();
        var deadline = TestKit.TestTiming.Scale(TimeSpan.FromMinutes(5));
        foreach (var thread in threads)
            Assert.True(thread.Join(deadline), "a writer did not finish: deadlock or starvation");
        Volatile.Write(ref stop, true);
        Assert.True(reader.Join(deadline), "the reader did not finish");
        Assert.Empty(failures);
        Assert.True(reads > 0);
        using var final = scenario.Open(write: true);
        var expected = set.Values.ToList();
        for (var writer = 0; writer < Writers; writer++)
            for (var i = 0; i < PerWriter; i += 2)
                expected.Add(Scenario.B($"w{writer}", "tcp", $"198.18.{writer}.{i + 1}", "443"));
        Assert.Equal(BindingTable.Sort(expected), final.Bindings());
        AssertSummaryMatches(final, "after 16 writers");
        // Every binding steers as bound: the writers' drop (their labels have no socket), the rest too.
        for (var writer = 0; writer < Writers; writer++)
        {
            Assert.Equal(SkLookup.Bpf.Asm.SkAction.Drop, scenario.Run(Protocol.Tcp, $"198.18.{writer}.1", 443).Verdict);
            Assert.Equal(SkLookup.Bpf.Asm.SkAction.Pass, scenario.Run(Protocol.Udp, $"198.18.{writer}.2", 443).Verdict);
        }
    }

    /// <summary>A state as a version without the summary leaves it: no summary map, or one that version's writes made stale.</summary>
    [Theory]
    [InlineData("missing", false)]
    [InlineData("stale", false)]
    [InlineData("missing", true)]
    public void AnOlderStateGetsItsSummaryOnTheFirstWriteOrUpgrade(string how, bool upgrade)
    {
        using var scenario = new Scenario();
        var random = new Random(3);
        var set = new Dictionary<BindingMatch, Binding>();
        Draw(random, 0, 600, set);
        scenario.D.ReplaceBindings(set.Values.ToList(), dryRun: false);
        var metaMap = scenario.D.Map(ControlLayout.Meta.Name);
        if (how == "missing")
            File.Delete(Path.Combine(scenario.StatePath, ControlLayout.Summary.Name));
        else
        {
            // An older writer added a binding without counting it, and its record dropped the summary's bit.
            var summaryMap = scenario.D.Map(ControlLayout.Summary.Name);
            foreach (var (key, _) in summaryMap.LookupAll().Take(3))
                summaryMap.Delete(key);
        }
        (DispatcherMeta.Read(metaMap)! with { SummaryValid = false }).Write(metaMap);
        scenario.Close();

        // Readers are fine without it.
        using (var reader = scenario.Open())
            Assert.Equal(set.Count, reader.Bindings().Count);
        if (upgrade)
            Dispatcher.Upgrade(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        using (var d = scenario.Open(write: true))
        {
            d.AddBinding(Scenario.B("new", "tcp", "198.18.0.1", "80"));
            AssertSummaryMatches(d, $"after a bind on a state whose summary was {how}");
            Assert.True(File.Exists(Path.Combine(scenario.StatePath, ControlLayout.Summary.Name)));
        }
        using (var d = scenario.Open(write: true))
        {
            Assert.True(d.RemoveBinding(Scenario.B("new", "tcp", "198.18.0.1", "80")));
            AssertSummaryMatches(d, "after the unbind");
        }
    }
}
