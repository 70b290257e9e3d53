using System.Net;
using SkLookup.Bpf.Asm;
using SkLookup.DataPlane;

namespace SkLookup.Tests.ControlPlane;

/// <summary>Binding, unbinding and listing through the control plane, and the precedence the attached program applies.</summary>
public sealed class BindingTests
{
    private static Binding B(string label, string protocol, string prefix, string port) => Scenario.B(label, protocol, prefix, port);

    [Fact]
    public void BindUnbindAndList()
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        Binding[] bindings =
        [
            B("web", "tcp", "192.0.2.0/24", "80"),
            B("web", "tcp", "2001:db8::/64", "80"),
            B("dns", "udp", "198.51.100.53", "53"),
            B("wide", "tcp", "192.0.0.0/16", "any"),
        ];
        foreach (var binding in bindings)
            d.AddBinding(binding);
        d.AddBinding(bindings[0]); // The same binding again changes nothing.
        Assert.Equal(BindingTable.Sort(bindings), d.Bindings());
        // The "program" pin follows the program the link runs.
        using (var pinned = SkLookup.Bpf.BpfProgram.OpenPinned(Path.Combine(scenario.StatePath, "program")))
            Assert.Equal(d.Link!.ReadInfo().ProgramId, pinned.Info.Id);

        var conflict = Assert.Throws<SteeringException>(() => d.AddBinding(B("other", "tcp", "192.0.2.0/24", "80")));
        Assert.Equal(SteeringError.AlreadyExists, conflict.Error);
        Assert.Contains("'web'", conflict.Message);

        Assert.False(d.RemoveBinding(B("other", "tcp", "192.0.2.0/24", "80")));
        Assert.False(d.RemoveBinding(B("web", "udp", "192.0.2.0/24", "80")));
        Assert.True(d.RemoveBinding(bindings[0]));
        Assert.False(d.RemoveBinding(bindings[0]));
        Assert.Equal(BindingTable.Sort(bindings[1..]), d.Bindings());

        // Destinations exist while they have bindings (no sockets here), and go with the last one.
        Assert.Equal(["dns ipv4 udp", "web ipv6 tcp", "wide ipv4 tcp"], d.Destinations().Select(s => $"{s.Label} {s.Family.Name()} {s.Protocol.Name()}"));
        foreach (var binding in bindings[1..])
            Assert.True(d.RemoveBinding(binding));
        Assert.Empty(d.Bindings());
        Assert.Empty(d.Destinations());
        // With no bindings the program is the empty shape again: it passes everything.
        Assert.Equal(SkAction.Pass, scenario.Run(Protocol.Tcp, "192.0.2.1", 80).Verdict);
    }

    /// <summary>The commands of issue 9: a catch-all bound on its own, then among other bindings, in each family and protocol.</summary>
    [Theory]
    [InlineData("tcp", "0.0.0.0/0", "192.0.2.1")]
    [InlineData("udp", "0.0.0.0/0", "192.0.2.1")]
    [InlineData("tcp", "::/0", "2001:db8::1")]
    [InlineData("udp", "::/0", "2001:db8::1")]
    public void CatchAllOnAnyPortBinds(string protocol, string prefix, string address)
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        d.AddBinding(B("all", protocol, prefix, "any"));
        d.SetFallThrough("all", false);
        var proto = ProtocolNames.ParseProtocol(protocol);
        // No socket is registered: the catch-all drops everything of its class, and nothing else.
        Assert.Equal(SkAction.Drop, scenario.Run(proto, address, 1).Verdict);
        Assert.Equal(SkAction.Drop, scenario.Run(proto, address, 65535).Verdict);
        Assert.Equal(SkAction.Pass, scenario.Run(proto == Protocol.Tcp ? Protocol.Udp : Protocol.Tcp, address, 80).Verdict);
        d.AddBinding(B("web", protocol, address, "80"));
        d.SetFallThrough("web", true);
        Assert.Equal(SkAction.Pass, scenario.Run(proto, address, 80).Verdict);
        Assert.Equal(SkAction.Drop, scenario.Run(proto, address, 81).Verdict);
        Assert.True(d.RemoveBinding(B("all", protocol, prefix, "any")));
        Assert.Equal(SkAction.Pass, scenario.Run(proto, address, 81).Verdict);
    }

    [Fact]
    public void BindingsSurviveReopening()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.D.SetFallThrough("web", true);
        scenario.Close();
        using var reader = scenario.Open();
        Assert.Equal([B("web", "tcp", "192.0.2.0/24", "80")], reader.Bindings());
        Assert.True(reader.Destinations().Single().FallThrough);
    }

    [Fact]
    public void NoSocketDropsByDefault()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(B("web", "tcp", "192.0.2.0/24", "80"));
        var result = scenario.Run(Protocol.Tcp, "192.0.2.1", 80);
        Assert.Equal(SkAction.Drop, result.Verdict);
        Assert.Equal(SkAction.Pass, scenario.Run(Protocol.Tcp, "192.0.2.1", 81).Verdict);
    }

    [Fact]
    public void FallThroughPassesWithoutSocketAndAppliesToLaterDestinations()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.D.SetFallThrough("web", true);
        Assert.Equal(SkAction.Pass, scenario.Run(Protocol.Tcp, "192.0.2.1", 80).Verdict);
        // A destination created after the setting inherits it.
        scenario.D.AddBinding(B("web", "udp", "192.0.2.0/24", "80"));
        Assert.Equal(SkAction.Pass, scenario.Run(Protocol.Udp, "192.0.2.1", 80).Verdict);
        Assert.All(scenario.D.Destinations(), status => Assert.True(status.FallThrough));
        scenario.D.SetFallThrough("web", false);
        Assert.Equal(SkAction.Drop, scenario.Run(Protocol.Tcp, "192.0.2.1", 80).Verdict);
        Assert.Equal(SkAction.Drop, scenario.Run(Protocol.Udp, "192.0.2.1", 80).Verdict);
    }

    /// <summary>
    /// Bindings added one at a time cross from compiled compares to hash probes, then half are removed,
    /// then the set is replaced; after each phase the attached program agrees with the reference.
    /// </summary>
    [Fact]
    public void AttachedProgramAgreesWithTheReferenceAsBindingsChange()
    {
        var random = new Random(1125);
        string[] labels = ["a", "b", "c", "d", "e"];
        using var scenario = new Scenario();
        using var sockets = new SocketSet(scenario, labels);
        var d = scenario.D;

        foreach (var binding in RandomBindings(random, labels, 40))
        {
            try
            {
                d.AddBinding(binding);
            }
            catch (SteeringException exception) when (exception.Error == SteeringError.AlreadyExists)
            {
            }
            if (d.Bindings().Count % 5 == 0)
                CheckAgainstReference(scenario, sockets, random, 30);
        }
        CheckAgainstReference(scenario, sockets, random, 300);

        var current = d.Bindings();
        foreach (var binding in current.Where((_, i) => i % 2 == 0))
            Assert.True(d.RemoveBinding(binding));
        CheckAgainstReference(scenario, sockets, random, 300);

        // A set big enough that classes probe hash tables instead of compiling compares.
        var replacement = RandomBindings(random, labels, 6 * DispatcherShape.InlineLimit, wide: true).DistinctBy(b => b.Match).ToList();
        var diff = d.ReplaceBindings(replacement, dryRun: false);
        Assert.Equal(BindingTable.Sort(replacement), d.Bindings());
        Assert.Contains(replacement.GroupBy(b => (b.Family, b.Protocol)), group => group.Count() > DispatcherShape.InlineLimit);
        Assert.NotEmpty(diff.Added);
        CheckAgainstReference(scenario, sockets, random, 500);

        // Single changes to hashed classes update the program's tables in place (or swap in a new program).
        foreach (var binding in RandomBindings(random, labels, 20, wide: true))
        {
            if (d.Bindings().Any(b => b.Match == binding.Match))
                Assert.True(d.RemoveBinding(d.Bindings().First(b => b.Match == binding.Match)));
            else
                d.AddBinding(binding);
        }
        CheckAgainstReference(scenario, sockets, random, 500);
    }

    [Fact]
    public void ChangesToAHashedClassUpdateTheProgramInPlace()
    {
        using var scenario = new Scenario();
        using var sockets = new SocketSet(scenario, ["many", "new"]);
        var d = scenario.D;
        var many = Enumerable.Range(0, DispatcherShape.InlineLimit + 100)
            .Select(i => B("many", "tcp", $"198.51.{i / 256}.{i % 256}", "80")).ToList();
        d.ReplaceBindings(many, dryRun: false);
        var programId = d.Program.Id;

        d.AddBinding(B("new", "tcp", "198.51.100.1", "80"));
        Assert.Equal(programId, d.Program.Id);
        Assert.Equal("new", sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.100.1", 80).SelectedSocketCookie));
        Assert.Equal("many", sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.0.7", 80).SelectedSocketCookie));

        Assert.True(d.RemoveBinding(B("many", "tcp", "198.51.0.7", "80")));
        Assert.Equal(programId, d.Program.Id);
        Assert.Null(sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.0.7", 80).SelectedSocketCookie));

        // A new prefix length changes the program's probes: a new program is swapped in.
        d.AddBinding(B("new", "tcp", "203.0.113.0/24", "80"));
        Assert.NotEqual(programId, d.Program.Id);
        Assert.Equal("new", sockets.LabelOf(scenario.Run(Protocol.Tcp, "203.0.113.9", 80).SelectedSocketCookie));
        Assert.Equal("many", sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.0.8", 80).SelectedSocketCookie));
    }

    [Theory]
    [InlineData(3)]                                  // decision trees: the move swaps in a new program
    [InlineData(DispatcherShape.InlineLimit + 100)] // a probe table: the move rewrites one slot in place
    public void MoveBindingTakesItToAnotherLabel(int count)
    {
        using var scenario = new Scenario();
        using var sockets = new SocketSet(scenario, ["old", "new"]);
        var d = scenario.D;
        var set = Enumerable.Range(0, count).Select(i => B("old", "tcp", $"198.51.{i / 256}.{i % 256}", "80")).ToList();
        d.ReplaceBindings(set, dryRun: false);
        var programId = d.Program.Id;

        var replaced = d.MoveBinding(B("new", "tcp", "198.51.0.1", "80"));

        Assert.Equal(B("old", "tcp", "198.51.0.1", "80"), replaced);
        Assert.Equal("new", sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.0.1", 80).SelectedSocketCookie));
        Assert.Equal("old", sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.0.2", 80).SelectedSocketCookie));
        Assert.Contains(B("new", "tcp", "198.51.0.1", "80"), d.Bindings());
        Assert.DoesNotContain(B("old", "tcp", "198.51.0.1", "80"), d.Bindings());
        Assert.Equal(count, d.Bindings().Count);
        if (count > DispatcherShape.InlineLimit)
            Assert.Equal(programId, d.Program.Id);
        // Moving it to the label it has, or moving a binding that does not exist, adds nothing extra.
        Assert.Null(d.MoveBinding(B("new", "tcp", "198.51.0.1", "80")));
        Assert.Null(d.MoveBinding(B("new", "tcp", "203.0.113.1", "80")));
        Assert.Equal("new", sockets.LabelOf(scenario.Run(Protocol.Tcp, "203.0.113.1", 80).SelectedSocketCookie));
        // Moving every binding away from a label leaves it without destinations once its socket goes.
        foreach (var binding in set)
            d.MoveBinding(binding with { Label = "new" });
        Assert.All(d.Bindings(), binding => Assert.Equal("new", binding.Label));
        Assert.Equal("new", sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.0.2", 80).SelectedSocketCookie));
        scenario.Close();
        using var reader = scenario.Open();
        Assert.Equal(count + 1, reader.Bindings().Count(binding => binding.Label == "new"));
    }

    private static void CheckAgainstReference(Scenario scenario, SocketSet sockets, Random random, int probes)
    {
        var bindings = scenario.D.Bindings();
        for (var i = 0; i < probes; i++)
        {
            // Probe near the bindings half of the time, and anywhere in the ranges otherwise.
            var protocol = random.Next(2) == 0 ? Protocol.Tcp : Protocol.Udp;
            IPAddress address;
            ushort port;
            if (bindings.Count > 0 && random.Next(2) == 0)
            {
                var near = bindings[random.Next(bindings.Count)];
                address = RandomAddressIn(random, near.Prefix);
                port = near.Port != 0 && random.Next(3) > 0 ? near.Port : RandomPort(random);
            }
            else
            {
                address = random.Next(2) == 0 ? RandomAddressIn(random, IPNetwork.Parse("198.51.0.0/16")) : RandomAddressIn(random, IPNetwork.Parse("2001:db8::/96"));
                port = RandomPort(random);
            }
            var expected = BindingTable.Lookup(bindings, protocol, address, port);
            var result = scenario.Run(protocol, address.ToString(), port);
            Assert.Equal(SkAction.Pass, result.Verdict);
            Assert.True(expected?.Label == sockets.LabelOf(result.SelectedSocketCookie),
                $"{protocol.Name()} {address}:{port}: expected {expected?.ToString() ?? "no binding"}, program chose {sockets.LabelOf(result.SelectedSocketCookie) ?? "no socket"}");
        }
    }

    private static ushort RandomPort(Random random) => (ushort)(random.Next(4) == 0 ? random.Next(1, 65536) : 80 + random.Next(4));

    private static List<Binding> RandomBindings(Random random, string[] labels, int count, bool wide = false)
    {
        var result = new List<Binding>();
        for (var i = 0; i < count; i++)
        {
            var v4 = random.Next(2) == 0;
            var length = v4 ? (wide ? 16 : 20) + random.Next(wide ? 17 : 13) : (wide ? 96 : 100) + random.Next(wide ? 33 : 29);
            var prefix = v4 ? IPNetwork.Parse(wide ? "198.51.0.0/16" : "198.51.100.0/24") : IPNetwork.Parse(wide ? "2001:db8::/96" : "2001:db8::/120");
            var address = RandomAddressIn(random, prefix);
            var network = new IPNetwork(Binding.Masked(address, length)!, length);
            var port = random.Next(3) == 0 ? "any" : (80 + random.Next(4)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            result.Add(Binding.Parse(labels[random.Next(labels.Length)], random.Next(2) == 0 ? "tcp" : "udp", network.ToString(), port));
        }
        return result;
    }

    private static IPAddress RandomAddressIn(Random random, IPNetwork network)
    {
        var bytes = network.BaseAddress.GetAddressBytes();
        for (var bit = network.PrefixLength; bit < bytes.Length * 8; bit++)
            if (random.Next(2) == 0)
                bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }
}
