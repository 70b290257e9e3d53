using System.Net;

namespace SkLookup.Tests.ControlPlane;

/// <summary>The queries that read raw map entries agree with the full listing, filtered and sorted in plain C#.</summary>
public sealed class QueryTests
{
    private static List<Binding> RandomSet(Random random, int count)
    {
        var labels = new[] { "web", "dns", "proxy", "api", "x" };
        var seen = new HashSet<BindingMatch>();
        var result = new List<Binding>();
        while (result.Count < count)
        {
            var ipv6 = random.Next(2) == 0;
            // A few lengths per family: the queries do not care, and every length present costs the program probes.
            int[] lengths = ipv6 ? [0, 20, 48, 64, 127, 128] : [0, 7, 16, 24, 31, 32];
            var length = lengths[random.Next(lengths.Length)];
            var bytes = new byte[ipv6 ? 16 : 4];
            random.NextBytes(bytes);
            bytes[0] = ipv6 ? (byte)0x20 : (byte)198; // Mostly within a few top bits, so that prefixes nest and overlap.
            var network = new IPNetwork(Binding.Masked(new IPAddress(bytes), length), length);
            var port = random.Next(3) == 0 ? 0 : random.Next(1, 5) * 1000;
            var binding = new Binding(labels[random.Next(labels.Length)], random.Next(2) == 0 ? Protocol.Tcp : Protocol.Udp, network, (ushort)port);
            if (seen.Add(binding.Match))
                result.Add(binding);
        }
        return result;
    }

    [Fact]
    public void SelectAndCountAgreeWithTheFullListing()
    {
        using var scenario = new Scenario();
        var random = new Random(12);
        scenario.D.ReplaceBindings(RandomSet(random, 3000), dryRun: false);
        var all = scenario.D.Bindings();

        BindingFilter[] filters =
        [
            BindingFilter.All,
            new() { Label = "web" },
            new() { Label = "nobody" },
            new() { Protocol = Protocol.Udp },
            new() { Family = Family.IPv6 },
            new() { Port = 2000 },
            new() { Port = 0 },
            new() { Prefix = IPNetwork.Parse("198.0.0.0/8") },
            new() { Prefix = IPNetwork.Parse("198.51.100.7/32"), Protocol = Protocol.Tcp },
            new() { Prefix = IPNetwork.Parse("2000::/6"), Label = "dns", Port = 1000 },
            new() { Prefix = IPNetwork.Parse("0.0.0.0/0") },
        ];
        foreach (var filter in filters)
        {
            var expected = all.Where(filter.Matches).ToList();
            foreach (var limit in new[] { 0, 1, 7, 100, int.MaxValue })
            {
                var selection = scenario.D.SelectBindings(filter, limit);
                Assert.Equal(expected.Count, selection.Matched);
                Assert.Equal(expected.Take(limit), selection.First);
            }
        }

        var counts = scenario.D.CountBindings();
        var grouped = all.GroupBy(b => (b.Label, b.Family, b.Protocol))
            .Select(g => new BindingCount(g.Key.Label, g.Key.Family, g.Key.Protocol, g.Count()))
            .OrderBy(c => c.Label, StringComparer.Ordinal).ThenBy(c => c.Family).ThenBy(c => c.Protocol);
        Assert.Equal(grouped, counts);
        Assert.Equal(all.Count, counts.Sum(c => c.Count));
    }

    [Fact]
    public void AnEmptyDispatcherHasNothingToSelectOrCount()
    {
        using var scenario = new Scenario();
        Assert.Empty(scenario.D.CountBindings());
        var selection = scenario.D.SelectBindings(BindingFilter.All, 10);
        Assert.Empty(selection.First);
        Assert.Equal(0, selection.Matched);
        Assert.True(selection.IsComplete);
    }
}
