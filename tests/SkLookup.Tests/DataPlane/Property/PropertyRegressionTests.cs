using System.Net;
using SkLookup.Bpf.Asm;
using SkLookup.DataPlane;
using SkLookup.TestKit;
using static SkLookup.Tests.DataPlane.Property.AddressMath;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>Cases the property test found, kept by name.</summary>
public sealed class PropertyRegressionTests
{
    /// <summary>
    /// Found by the property test (seed fCxZO77UCQv1, 1,334 bindings, probe-table form): four classes with bindings
    /// at most prefix lengths, on specific and any ports, made the probe-table program fail to load with ENOMEM
    /// after 16 s in the verifier (each probe was a 17-turn bounded loop); with the loop gone, the code of one
    /// such class also outgrew 16-bit jumps to the shared exits. Here: every length in every class, both kinds.
    /// </summary>
    [Fact]
    public void EveryPrefixLengthInEveryClassLoadsAndSteers()
    {
        using var netns = new TestNetNs();
        using var harness = new DispatcherHarness();
        foreach (var protocol in new[] { Protocol.Tcp, Protocol.Udp })
            foreach (var v4 in new[] { true, false })
                for (var length = 0; length <= Bits(v4); length++)
                {
                    var anchor = v4 ? (UInt128)0xc0000201u : (UInt128.Parse("42540766411282592856903984951653826561")); // 192.0.2.1, 2001:db8::1
                    harness.Bind(new Binding($"any{length % 3}", protocol, Network(anchor, length, v4), 0));
                    harness.Bind(new Binding($"web{length % 2}", protocol, Network(anchor ^ 0x100, length, v4), 80));
                }
        var sockets = harness.RegisterEverySocket(netns);
        harness.Load(inlineLimit: 0);

        foreach (var protocol in new[] { Protocol.Tcp, Protocol.Udp })
            foreach (var address in new[] { "192.0.2.1", "192.0.3.1", "192.0.2.0", "10.0.0.1", "2001:db8::1", "2001:db8::101", "2001:db9::1", "::1" })
                foreach (var port in new ushort[] { 1, 80, 65535 })
                {
                    var expected = BindingTable.Lookup(harness.Bindings, protocol, IPAddress.Parse(address), port);
                    var result = harness.Run(protocol, address, port);
                    Assert.Equal(SkAction.Pass, result.Verdict);
                    Assert.True((expected is null ? 0 : sockets[(expected.Label, expected.Family, expected.Protocol)].Cookie) == result.SelectedSocketCookie,
                        $"{protocol.Name()} {address} port {port} should go to {expected?.ToString() ?? "(no binding)"}");
                }
    }

    /// <summary>
    /// Found by the property test in its own model: .NET 10's <see cref="IPNetwork.Contains"/> says that every IPv6
    /// network holds every IPv4-mapped address. The dispatcher is right (an IPv6 lookup of ::ffff:3.89.179.64 matches
    /// no IPv6 binding outside ::ffff:0:0/96); the model now tests containment by arithmetic.
    /// </summary>
    [Fact]
    public void IPv4MappedDestinationIsAnIPv6LookupOutsideOtherPrefixes()
    {
        Assert.False(ReferenceModel.Holds(IPNetwork.Parse("0:0:b358:2741::/98"), IPAddress.Parse("::ffff:3.89.179.64")));
        Assert.True(ReferenceModel.Holds(IPNetwork.Parse("::ffff:0:0/96"), IPAddress.Parse("::ffff:3.89.179.64")));
        using var netns = new TestNetNs();
        using var harness = new DispatcherHarness();
        harness.Bind(Binding.Parse("a", "udp", "3.89.179.64/26", "80"), Binding.Parse("a", "udp", "0:0:b358:2741::/98", "any"));
        harness.RegisterEverySocket(netns);
        foreach (var limit in new[] { DispatcherShape.InlineLimit, 0 })
        {
            harness.Load(limit);
            Assert.Equal(0ul, harness.Run(Protocol.Udp, "::ffff:3.89.179.64", 80).SelectedSocketCookie);
        }
    }

    /// <summary>
    /// Found by a long run of the property test (1,248 bindings, the default inline limit, so trees of up to 512
    /// bindings next to probe-table classes): the program failed to load with E2BIG, the verifier having walked
    /// a million instructions, because every probe was an eight-turn loop over its two buckets. The first bucket
    /// is now unrolled and the second a four-turn loop. The set is kept as the bindings file the test printed.
    /// </summary>
    [Fact]
    public void SetThatExhaustedTheVerifierLoadsAndAgreesWithTheModel()
    {
        var document = BindingsFile.ParseDocument(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "DataPlane", "Property", "Cases", "verifier-e2big-1248.json")));
        var labels = PropertyGen.LabelNames.Select(name => new LabelPlan(name,
            document.Labels.TryGetValue(name, out var options) && options.FallThrough, [true, name != "a", true, name != "d"])).ToList();
        using var rig = new PropertyRig();
        var testCase = new PropertyCase(document.Bindings, labels, DispatcherShape.InlineLimit, [], []);
        var failure = rig.Check(testCase);
        Assert.True(failure is null, failure);
    }
}
