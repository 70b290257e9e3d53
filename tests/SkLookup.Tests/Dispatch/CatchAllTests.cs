using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using SkLookup.Dispatch;
using SkLookup.TestKit;

namespace SkLookup.Tests.Dispatch;

/// <summary>
/// Catch-all bindings (0.0.0.0/0 and ::/0), which once made the generated program fail the verifier
/// ("unreachable insn": a tree for /0 on any port matches unconditionally, and code was emitted after it).
/// Each case loads the program and checks lookups inside and outside the other bindings.
/// </summary>
public sealed class CatchAllTests
{
    /// <summary>Both generated forms: decision trees (the default limit) and the probe table (limit 0).</summary>
    public static TheoryData<string, string, string, bool, int> Cases()
    {
        var data = new TheoryData<string, string, string, bool, int>();
        foreach (var prefix in new[] { "0.0.0.0/0", "::/0" })
            foreach (var port in new[] { "any", "443" })
                foreach (var protocol in new[] { "tcp", "udp" })
                    foreach (var among in new[] { false, true })
                        foreach (var inlineLimit in new[] { DispatcherShape.InlineLimit, 0 })
                            data.Add(prefix, port, protocol, among, inlineLimit);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CatchAllLoadsAndSteers(string prefix, string port, string protocol, bool amongOthers, int inlineLimit)
    {
        using var netns = new TestNetNs();
        using var harness = new DispatcherHarness();
        var v4 = prefix.Contains('.');
        harness.Bind(Binding.Parse("all", protocol, prefix, port));
        if (amongOthers)
            harness.Bind(Others(v4, protocol));
        var sockets = harness.RegisterEverySocket(netns);
        harness.Load(inlineLimit);

        var inside = v4 ? new[] { "192.0.2.1", "192.0.2.255", "198.51.100.77", "0.0.0.0", "255.255.255.255", "10.0.0.1" }
            : new[] { "2001:db8::1", "2001:db8::ffff", "2001:db8:1::1", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::1" };
        var proto = ProtocolNames.ParseProtocol(protocol);
        var other = proto == Protocol.Tcp ? Protocol.Udp : Protocol.Tcp;
        foreach (var address in inside)
            foreach (var lookupPort in new ushort[] { 1, 80, 443, 8080, 65535 })
            {
                AssertAgrees(harness, sockets, proto, address, lookupPort);
                AssertAgrees(harness, sockets, other, address, lookupPort);
            }
        // The catch-all of the other family does not apply.
        AssertAgrees(harness, sockets, proto, v4 ? "2001:db8::1" : "192.0.2.1", 443);
    }

    /// <summary>Classes just below, at and just above the inline limit, each with a catch-all among host bindings.</summary>
    [Theory]
    [InlineData("0.0.0.0/0", "any", "tcp")]
    [InlineData("0.0.0.0/0", "443", "udp")]
    [InlineData("::/0", "any", "udp")]
    [InlineData("::/0", "443", "tcp")]
    public void CatchAllAcrossTheInlineLimit(string prefix, string port, string protocol)
    {
        var v4 = prefix.Contains('.');
        foreach (var count in new[] { DispatcherShape.InlineLimit - 1, DispatcherShape.InlineLimit, DispatcherShape.InlineLimit + 1 })
        {
            using var netns = new TestNetNs();
            using var harness = new DispatcherHarness();
            harness.Bind(Binding.Parse("all", protocol, prefix, port));
            for (var i = 1; i < count; i++)
            {
                var host = v4 ? $"10.0.{i / 256}.{i % 256}" : $"fd00::{i:x}";
                harness.Bind(Binding.Parse($"h{i % 3}", protocol, host, (i % 2 == 0 ? 0 : 80).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
            var sockets = harness.RegisterEverySocket(netns);
            harness.Load();
            Assert.Equal(count > DispatcherShape.InlineLimit, harness.Shape.Classes[0].Inline is null);
            var proto = ProtocolNames.ParseProtocol(protocol);
            foreach (var i in new[] { 1, 2, 3, count - 1, count, count + 1 })
                foreach (var lookupPort in new ushort[] { 1, 80, 443 })
                    AssertAgrees(harness, sockets, proto, v4 ? $"10.0.{i / 256}.{i % 256}" : $"fd00::{i:x}", lookupPort);
            AssertAgrees(harness, sockets, proto, v4 ? "203.0.113.1" : "3fff::1", 443);
            AssertAgrees(harness, sockets, proto, v4 ? "203.0.113.1" : "3fff::1", 444);
        }
    }

    private static Binding[] Others(bool v4, string protocol) => v4
        ?
        [
            Binding.Parse("net24", protocol, "192.0.2.0/24", "any"),
            Binding.Parse("web", protocol, "192.0.2.0/24", "443"),
            Binding.Parse("host", protocol, "192.0.2.1", "80"),
            Binding.Parse("half", protocol, "128.0.0.0/1", "8080"),
            Binding.Parse("other-proto", protocol == "tcp" ? "udp" : "tcp", "192.0.2.0/24", "80"),
        ]
        :
        [
            Binding.Parse("net64", protocol, "2001:db8::/64", "any"),
            Binding.Parse("web", protocol, "2001:db8::/64", "443"),
            Binding.Parse("host", protocol, "2001:db8::1", "80"),
            Binding.Parse("half", protocol, "8000::/1", "8080"),
            Binding.Parse("other-proto", protocol == "tcp" ? "udp" : "tcp", "2001:db8::/64", "80"),
        ];

    private static void AssertAgrees(DispatcherHarness harness, Dictionary<(string, Family, Protocol), (Socket Socket, ulong Cookie)> sockets,
        Protocol protocol, string address, ushort port)
    {
        var expected = BindingTable.Lookup(harness.Bindings, protocol, IPAddress.Parse(address), port);
        var result = harness.Run(protocol, address, port);
        Assert.Equal(SkAction.Pass, result.Verdict);
        var cookie = expected is null ? 0 : sockets[(expected.Label, expected.Family, expected.Protocol)].Cookie;
        Assert.True(cookie == result.SelectedSocketCookie,
            $"{protocol.Name()} {address} port {port} should go to {expected?.ToString() ?? "(no binding)"}; shape {harness.Shape}");
    }
}
