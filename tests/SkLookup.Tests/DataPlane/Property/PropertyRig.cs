using System.Net;
using System.Net.Sockets;
using System.Text;
using SkLookup.Bpf;
using SkLookup.DataPlane;
using SkLookup.TestKit;
using static SkLookup.Tests.DataPlane.Property.AddressMath;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>
/// Runs a <see cref="PropertyCase"/> against the real kernel: loads the generated dispatcher for the set (with
/// <see cref="DispatcherHarness"/>), runs every lookup with BPF_PROG_TEST_RUN, and compares the verdict and the
/// selected socket with <see cref="ReferenceModel"/>; then applies the case's changes in place, as single
/// bind and unbind commands do, and compares again, with the model and with a program built fresh for the
/// final set. One namespace holds a socket for every destination that has one, for the whole run.
/// </summary>
internal sealed class PropertyRig : IDisposable
{
    private readonly TestNetNs _netns = new();
    private readonly Dictionary<(string, Family, Protocol), (Socket Socket, ulong Cookie)> _sockets = [];
    private int _nextPort = 20000;

    /// <summary>How many bindings of a set get boundary lookups (all of them up to this many).</summary>
    public int BoundaryBindings { get; init; } = 250;

    /// <summary>Runs the case; null if the kernel agreed with the model everywhere, else what went wrong.</summary>
    public string? Check(PropertyCase testCase)
    {
        var labels = testCase.Labels.ToDictionary(l => l.Name);
        var current = new List<Binding>(testCase.Bindings);
        using var harness = new DispatcherHarness();
        harness.Bind([.. current]);
        Prepare(harness, current, labels);
        try
        {
            harness.Load(testCase.InlineLimit);
        }
        catch (BpfException exception)
        {
            return $"loading the program failed: {exception.Message}";
        }
        var form = $"generated form: {harness.Shape}";
        var lookups = LookupsFor(current, testCase.RandomLookups, BoundaryBindings);
        if (FirstDisagreement(harness, current, labels, lookups) is { } first)
            return $"{first}\n{form}";

        var applied = new List<Change>();
        foreach (var change in testCase.Changes)
        {
            applied.Add(change);
            if (change.Add)
                current.Add(change.Binding);
            else
                current.Remove(change.Binding);
            bool inPlace;
            try
            {
                inPlace = change.Add
                    ? harness.UpdateInPlace([], [change.Binding], testCase.InlineLimit)
                    : harness.UpdateInPlace([change.Binding], [], testCase.InlineLimit);
                Prepare(harness, current, labels);
                if (!inPlace)
                    harness.Load(testCase.InlineLimit); // What the control plane does when the shape changed.
            }
            catch (BpfException exception)
            {
                return $"after {string.Join(", ", applied)}: {exception.Message}";
            }
            var changed = LookupsFor([change.Binding], [], 1).Concat(LookupsFor(current, testCase.RandomLookups, 40)).ToList();
            if (FirstDisagreement(harness, current, labels, changed) is { } failure)
                return $"after {string.Join(", ", applied)} ({(inPlace ? "in place" : "new program")}): {failure}\n{form}, now {harness.Shape}";
        }
        if (testCase.Changes.Count == 0)
            return null;
        // The program updated in place must answer exactly as a program built fresh from the same set.
        using var fresh = new DispatcherHarness();
        fresh.Bind([.. current]);
        Prepare(fresh, current, labels);
        fresh.Load(testCase.InlineLimit);
        foreach (var lookup in LookupsFor(current, testCase.RandomLookups, BoundaryBindings))
        {
            var updated = Run(harness, lookup);
            var built = Run(fresh, lookup);
            if (updated != built)
                return $"after {string.Join(", ", applied)}: {lookup}: the program updated in place says {updated}, a program built fresh says {built}\n{harness.Shape}";
        }
        return null;
    }

    /// <summary>Registers the sockets and fall-through options of every destination the bindings use.</summary>
    private void Prepare(DispatcherHarness harness, List<Binding> bindings, Dictionary<string, LabelPlan> labels)
    {
        foreach (var (label, family, protocol) in bindings.Select(b => (b.Label, b.Family, b.Protocol)).Distinct())
        {
            var plan = labels[label];
            if (plan.HasSocket(family, protocol))
                harness.Register(label, family, protocol, Socket(label, family, protocol).Socket);
            else if (plan.FallThrough)
                harness.SetFallThrough(label, family, protocol);
        }
    }

    private (Socket Socket, ulong Cookie) Socket(string label, Family family, Protocol protocol)
    {
        if (_sockets.TryGetValue((label, family, protocol), out var existing))
            return existing;
        var local = new IPEndPoint(family == Family.IPv4 ? IPAddress.Loopback : IPAddress.IPv6Loopback, _nextPort++);
        var socket = protocol == Protocol.Tcp ? _netns.Listen(local) : _netns.BindUdp(local);
        var cookie = SocketCookie.Read(socket);
        return _sockets[(label, family, protocol)] = (socket, cookie);
    }

    private string? FirstDisagreement(DispatcherHarness harness, List<Binding> bindings, Dictionary<string, LabelPlan> labels, IEnumerable<Lookup> lookups)
    {
        var model = new ModelIndex(bindings);
        foreach (var lookup in lookups)
        {
            var expected = ReferenceModel.Expect(model.Candidates(lookup), lookup,
                b => labels[b.Label].HasSocket(b.Family, b.Protocol) ? Socket(b.Label, b.Family, b.Protocol).Cookie : null,
                label => labels[label].FallThrough);
            var actual = Run(harness, lookup);
            if (expected != actual)
                return $"{lookup}: the model says {expected}{Why(bindings, lookup)}, the kernel says {actual}";
        }
        return null;
    }

    private static string Why(List<Binding> bindings, Lookup lookup)
    {
        var matches = bindings.Where(b => b.Protocol == lookup.Protocol && b.Prefix.BaseAddress.AddressFamily == lookup.Address.AddressFamily
            && ReferenceModel.Holds(b.Prefix, lookup.Address) && (b.Port == 0 || b.Port == lookup.Port)).ToList();
        return matches.Count == 0 ? " (no binding matches)" : $" (matching: {string.Join("; ", matches.Take(6))})";
    }

    private static Outcome Run(DispatcherHarness harness, Lookup lookup)
    {
        var result = harness.Run(lookup.Protocol, lookup.Address.ToString(), lookup.Port);
        return new Outcome(result.Verdict, result.SelectedSocketCookie);
    }

    /// <summary>
    /// The random lookups, plus for each of (up to) <paramref name="boundaryBindings"/> bindings: its first and last
    /// address and the addresses just outside, on its port (or 80), 1 and 65535; and its first address as an
    /// IPv4-mapped IPv6 destination.
    /// </summary>
    public static List<Lookup> LookupsFor(IReadOnlyList<Binding> bindings, IEnumerable<Lookup> random, int boundaryBindings)
    {
        var lookups = new List<Lookup>(random);
        var step = Math.Max(1, bindings.Count / Math.Max(1, boundaryBindings));
        for (var i = 0; i < bindings.Count; i += step)
        {
            var binding = bindings[i];
            var v4 = binding.Family == Family.IPv4;
            var (first, last) = Range(binding.Prefix);
            var addresses = new List<UInt128> { first, last };
            if (first > 0)
                addresses.Add(first - 1);
            if (last < Max(v4))
                addresses.Add(last + 1);
            foreach (var address in addresses)
                foreach (var port in new[] { binding.Port == 0 ? (ushort)80 : binding.Port, (ushort)1, (ushort)65535 })
                    lookups.Add(new Lookup(binding.Protocol, FromNumber(address, v4), port));
            if (v4)
                lookups.Add(new Lookup(binding.Protocol, FromNumber(first, v4).MapToIPv6(), binding.Port == 0 ? (ushort)80 : binding.Port));
        }
        return lookups;
    }

    /// <summary>What a failure prints: a bindings file for <c>sklookup apply</c>, the sockets, and the case's form.</summary>
    public static string Describe(PropertyCase testCase)
    {
        var text = new StringBuilder();
        text.AppendLine($"{testCase}");
        text.AppendLine("bindings file (sklookup apply FILE):");
        text.Append(PropertyCase.ToBindingsFile(testCase.Bindings, testCase.Labels));
        text.AppendLine($"sockets: {PropertyCase.DescribeSockets(testCase.Bindings.Concat(testCase.Changes.Select(c => c.Binding)), testCase.Labels)}");
        foreach (var change in testCase.Changes)
            text.AppendLine($"then: sklookup {(change.Add ? "bind" : "unbind")} {change.Binding.Label} {change.Binding.Protocol.Name()} {change.Binding.Prefix} {(change.Binding.Port == 0 ? "any" : change.Binding.Port)}");
        return text.ToString();
    }

    public void Dispose()
    {
        foreach (var (socket, _) in _sockets.Values)
            socket.Dispose();
        _netns.Dispose();
    }

    /// <summary>The bindings of each (protocol, family), so that the model scans only the class of a lookup.</summary>
    private sealed class ModelIndex(List<Binding> bindings)
    {
        private readonly ILookup<(Protocol, AddressFamily), Binding> _byClass = bindings.ToLookup(b => (b.Protocol, b.Prefix.BaseAddress.AddressFamily));

        public IEnumerable<Binding> Candidates(Lookup lookup) => _byClass[(lookup.Protocol, lookup.Address.AddressFamily)];
    }
}
