using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using SkLookup.DataPlane;
using SkLookup.TestKit;

namespace SkLookup.Tests.DataPlane;

/// <summary>The generated dispatcher, checked with test runs and real traffic against the precedence rules.</summary>
public sealed class DispatcherProgramTests
{
    /// <summary>Both code shapes: every class compiled into compares, and every class probing hash maps.</summary>
    public static TheoryData<int> InlineLimits => new() { DispatcherShape.InlineLimit, 0 };

    private static readonly Binding[] PrecedenceBindings =
    [
        Binding.Parse("wide", "tcp", "192.0.0.0/16", "0"),
        Binding.Parse("web", "tcp", "192.0.2.0/24", "80"),
        Binding.Parse("net24", "tcp", "192.0.2.0/24", "0"),
        Binding.Parse("host", "tcp", "192.0.2.7", "80"),
        Binding.Parse("everything", "tcp", "0.0.0.0/0", "443"),
        Binding.Parse("proxy", "udp", "198.51.100.1", "0"),
        Binding.Parse("dns", "udp", "198.51.100.1", "53"),
        Binding.Parse("web6", "tcp", "2001:db8::/64", "80"),
        Binding.Parse("any6", "tcp", "2001:db8::/32", "0"),
        Binding.Parse("host6", "tcp", "2001:db8::7", "0"),
        Binding.Parse("proxy6", "udp", "2001:db8:1::1", "0"),
    ];

    [Theory]
    [MemberData(nameof(InlineLimits))]
    public void LongestPrefixWinsAndSpecificPortBeatsAnyPort(int inlineLimit)
    {
        using var netns = new TestNetNs();
        using var harness = new DispatcherHarness();
        harness.Bind(PrecedenceBindings);
        var sockets = harness.RegisterEverySocket(netns);
        harness.Load(inlineLimit);

        (string Protocol, string Address, ushort Port, string? Label)[] cases =
        [
            ("tcp", "192.0.2.7", 80, "host"),           // /32 beats /24
            ("tcp", "192.0.2.8", 80, "web"),            // /24 with port beats /24 any
            ("tcp", "192.0.2.8", 81, "net24"),          // /24 any beats /16 any
            ("tcp", "192.0.3.1", 80, "wide"),           // only the /16 matches
            ("tcp", "192.0.3.1", 443, "wide"),          // /16 any beats /0 with port: length first
            ("tcp", "203.0.113.1", 443, "everything"),  // /0 port 443
            ("tcp", "203.0.113.1", 444, null),          // nothing matches
            ("udp", "192.0.2.7", 80, null),             // wrong protocol
            ("udp", "198.51.100.1", 53, "dns"),         // equal prefix: specific port wins
            ("udp", "198.51.100.1", 5353, "proxy"),
            ("udp", "198.51.100.2", 53, null),
            ("tcp", "2001:db8::7", 80, "host6"),        // /128 any beats /64 port 80
            ("tcp", "2001:db8::8", 80, "web6"),
            ("tcp", "2001:db8::8", 81, "any6"),
            ("tcp", "2001:db8:0:1::8", 80, "any6"),
            ("tcp", "2001:db9::1", 80, null),
            ("udp", "2001:db8:1::1", 9, "proxy6"),
            ("udp", "2001:db8:1::2", 9, null),
        ];
        foreach (var (protocol, address, port, label) in cases)
        {
            var expected = BindingTable.Lookup(harness.Bindings, ProtocolNames.ParseProtocol(protocol), IPAddress.Parse(address), port);
            Assert.Equal(label, expected?.Label);
            var result = harness.Run(ProtocolNames.ParseProtocol(protocol), address, port);
            Assert.Equal(SkAction.Pass, result.Verdict);
            Assert.True(ExpectedCookie(sockets, expected) == result.SelectedSocketCookie,
                $"{protocol} {address}:{port} should go to {label ?? "(no binding)"}; shape {harness.Shape}");
        }
    }

    [Theory]
    [MemberData(nameof(InlineLimits))]
    public void AgreesWithTheReferenceOnRandomBindings(int inlineLimit)
    {
        var random = new Random(20261125 + inlineLimit);
        using var netns = new TestNetNs();
        using var harness = new DispatcherHarness();
        var labels = new[] { "a", "b", "c", "d", "e" };
        var bindings = new Dictionary<BindingMatch, Binding>();
        while (bindings.Count < 60)
        {
            var v4 = random.Next(2) == 0;
            var length = v4 ? random.Next(8, 33) : random.Next(16, 129);
            var bytes = new byte[v4 ? 4 : 16];
            random.NextBytes(bytes);
            bytes[0] = v4 ? (byte)192 : (byte)0x20;
            var prefix = new IPNetwork(Binding.Masked(new IPAddress(bytes), Math.Max(length, 8))!, Math.Max(length, 8));
            var port = (ushort)(random.Next(3) == 0 ? 0 : random.Next(1, 4));
            var binding = Binding.Create(labels[random.Next(labels.Length)], random.Next(2) == 0 ? Protocol.Tcp : Protocol.Udp, prefix, port);
            bindings.TryAdd(binding.Match, binding);
        }
        harness.Bind([.. bindings.Values]);
        var sockets = harness.RegisterEverySocket(netns);
        harness.Load(inlineLimit);

        for (var i = 0; i < 400; i++)
        {
            // Aim inside a random binding's prefix most of the time, so that overlaps are exercised.
            var target = harness.Bindings[random.Next(harness.Bindings.Count)];
            var bytes = target.Prefix.BaseAddress.GetAddressBytes();
            for (var bit = target.Prefix.PrefixLength; bit < bytes.Length * 8; bit++)
                if (random.Next(2) == 0)
                    bytes[bit / 8] ^= (byte)(0x80 >> (bit % 8));
            if (random.Next(5) == 0)
                bytes[^1] ^= (byte)random.Next(256);
            var address = new IPAddress(bytes);
            var port = (ushort)random.Next(1, 5);
            var protocol = random.Next(2) == 0 ? Protocol.Tcp : Protocol.Udp;
            var expected = BindingTable.Lookup(harness.Bindings, protocol, address, port);
            var result = harness.Run(protocol, address.ToString(), port);
            Assert.True(ExpectedCookie(sockets, expected) == result.SelectedSocketCookie,
                $"{protocol} {address}:{port} should go to {expected?.ToString() ?? "(no binding)"}");
        }
    }

    [Theory]
    [MemberData(nameof(InlineLimits))]
    public void BindingWithoutSocketDropsUnlessItFallsThrough(int inlineLimit)
    {
        using var harness = new DispatcherHarness();
        harness.Bind(Binding.Parse("web", "tcp", "192.0.2.0/24", "80"), Binding.Parse("open", "tcp", "192.0.2.0/24", "81"));
        harness.SetFallThrough("open", Family.IPv4, Protocol.Tcp);
        harness.Load(inlineLimit);

        Assert.Equal(SkAction.Drop, harness.Run(Protocol.Tcp, "192.0.2.1", 80).Verdict);
        Assert.Equal(SkAction.Pass, harness.Run(Protocol.Tcp, "192.0.2.1", 81).Verdict);
        Assert.Equal(SkAction.Pass, harness.Run(Protocol.Tcp, "192.0.2.1", 82).Verdict);
        var web = harness.Counters("web", Family.IPv4, Protocol.Tcp);
        Assert.Equal((1ul, 1ul, 0ul), (web.Lookups, web.Misses, web.Errors));
        var open = harness.Counters("open", Family.IPv4, Protocol.Tcp);
        Assert.Equal((1ul, 1ul, 0ul), (open.Lookups, open.Misses, open.Errors));
    }

    [Theory]
    [MemberData(nameof(InlineLimits))]
    public void SocketOfTheWrongKindCountsAnErrorAndDrops(int inlineLimit)
    {
        using var netns = new TestNetNs();
        using var harness = new DispatcherHarness();
        harness.Bind(Binding.Parse("web", "tcp", "192.0.2.0/24", "80"));
        using var udp = netns.BindUdp(new IPEndPoint(IPAddress.Loopback, 9000));
        harness.Register("web", Family.IPv4, Protocol.Tcp, udp); // a UDP socket behind a TCP destination
        harness.Load(inlineLimit);

        var result = harness.Run(Protocol.Tcp, "192.0.2.1", 80);

        Assert.Equal(SkAction.Drop, result.Verdict);
        var counters = harness.Counters("web", Family.IPv4, Protocol.Tcp);
        Assert.Equal((1ul, 0ul, 1ul), (counters.Lookups, counters.Misses, counters.Errors));
    }

    [Fact]
    public void HashedClassesUpdateTheirTableInPlace()
    {
        using var netns = new TestNetNs();
        using var harness = new DispatcherHarness();
        var bindings = Enumerable.Range(0, 40).Select(i => Binding.Parse("a", "tcp", $"192.0.2.{i}", "80"))
            .Concat(Enumerable.Range(0, 40).Select(i => Binding.Parse("b", "udp", $"2001:db8::{i:x}", "0"))).ToArray();
        harness.Bind(bindings);
        var sockets = harness.RegisterEverySocket(netns);
        using var udp4 = netns.BindUdp(new IPEndPoint(IPAddress.Loopback, 9999));
        harness.Register("c", Family.IPv4, Protocol.Udp, udp4);
        harness.Load(inlineLimit: 0);
        var cookieA = sockets[("a", Family.IPv4, Protocol.Tcp)].Cookie;
        var cookieB = sockets[("b", Family.IPv6, Protocol.Udp)].Cookie;

        // Removing leaves a tombstone: the key is gone, and keys probed past it are still found.
        Assert.True(harness.UpdateInPlace([bindings[3], bindings[45]], [], inlineLimit: 0));
        Assert.Equal(SkAction.Pass, harness.Run(Protocol.Tcp, "192.0.2.3", 80).Verdict);
        Assert.Equal(0ul, harness.Run(Protocol.Tcp, "192.0.2.3", 80).SelectedSocketCookie);
        Assert.Equal(0ul, harness.Run(Protocol.Udp, "2001:db8::5", 7).SelectedSocketCookie);
        foreach (var binding in bindings.Except([bindings[3], bindings[45]]))
        {
            var address = binding.Prefix.BaseAddress.ToString();
            var expected = binding.Label == "a" ? cookieA : cookieB;
            Assert.Equal(expected, harness.Run(binding.Protocol, address, binding.Port == 0 ? (ushort)7 : binding.Port).SelectedSocketCookie);
        }

        // Adding a key in the same shape goes into the live table, and the same program sees it.
        Assert.True(harness.UpdateInPlace([], [Binding.Parse("a", "tcp", "192.0.2.3", "80"), Binding.Parse("a", "tcp", "192.0.2.200", "80")], inlineLimit: 0));
        Assert.Equal(cookieA, harness.Run(Protocol.Tcp, "192.0.2.200", 80).SelectedSocketCookie);
        Assert.Equal(cookieA, harness.Run(Protocol.Tcp, "192.0.2.3", 80).SelectedSocketCookie);

        // A new class changes the shape: the program must be regenerated.
        Assert.False(harness.UpdateInPlace([], [Binding.Parse("c", "udp", "192.0.2.0/24", "53")], inlineLimit: 0));
        harness.Load(inlineLimit: 0);
        Assert.NotEqual(0ul, harness.Run(Protocol.Udp, "192.0.2.9", 53).SelectedSocketCookie);
    }

    [Fact]
    public void KeysInTheirSecondBucketAndKeysMovedThereLiveAreFound()
    {
        using var netns = new TestNetNs();
        using var harness = new DispatcherHarness();
        // Nearly half of a 256-bucket table, so that some keys live in their second bucket, which the program must compute as the placement did.
        // Random addresses: consecutive ones spread evenly by the multiplicative hash and never fill a bucket.
        string[] labels = ["a", "b", "c", "d"];
        var random = new Random(9);
        var addresses = new HashSet<string>();
        while (addresses.Count < 1024)
            addresses.Add($"10.{random.Next(256)}.{random.Next(256)}.{random.Next(256)}");
        var ipv4 = addresses.ToList();
        var bindings = Enumerable.Range(0, 500).Select(i => Binding.Parse(labels[i % 4], "tcp", ipv4[i], "80"))
            .Concat(Enumerable.Range(0, 500).Select(i => Binding.Parse(labels[i % 4], "udp", $"fd00::{random.Next(65536):x}:{i:x}", "53"))).ToArray();
        harness.Bind(bindings);
        var sockets = harness.RegisterEverySocket(netns);
        harness.Load(inlineLimit: 0);
        foreach (var (family, layout) in harness.Shape.Tables)
        {
            Assert.Equal(8, layout.Bits);
            var inSecond = bindings.Where(b => b.Family == family).Count(b =>
            {
                var key = BindingKey.Encode(b.Match);
                return !Holds(layout.Buckets.GetValueOrDefault(ProbeTable.Homes(key, layout.Bits).First), key);
            });
            Assert.InRange(inSecond, 1, 499);
        }
        AssertSteered(bindings);

        // Live inserts past the point where both buckets of new keys are full: a resident moves to its other bucket.
        using var table = ProgramMapIds.OpenByName(harness.Program!, ProbeTable.MapName(Family.IPv4))!;
        using var filter = ProgramMapIds.OpenByName(harness.Program!, AddressPrefilter.MapName(Family.IPv4))!;
        var added = new List<Binding>();
        var moved = 0;
        for (var i = 500; i < 1024; i++)
        {
            var binding = Binding.Parse(labels[i % 4], "tcp", ipv4[i], "80");
            var key = BindingKey.Encode(binding.Match);
            var (first, second) = ProbeTable.Homes(key, 8);
            var bothFull = !HasFreeSlot(table, first) && !HasFreeSlot(table, second);
            AddressPrefilter.Add(filter, Family.IPv4, binding.Match);
            if (!ProbeTable.TryInsert(table, Family.IPv4, key, harness.Id(binding.Label, Family.IPv4, Protocol.Tcp)))
                break;
            moved += bothFull ? 1 : 0;
            added.Add(binding);
        }
        Assert.True(moved > 0, $"no insert of {added.Count} needed a move");
        AssertSteered([.. bindings, .. added]);

        void AssertSteered(IEnumerable<Binding> steered)
        {
            foreach (var binding in steered)
            {
                var result = harness.Run(binding.Protocol, binding.Prefix.BaseAddress.ToString(), binding.Port);
                Assert.True(sockets[(binding.Label, binding.Family, binding.Protocol)].Cookie == result.SelectedSocketCookie, $"{binding} was not steered to its socket");
            }
        }

        static bool Holds(byte[]? bucket, byte[] key)
        {
            var slotSize = ProbeTable.SlotSize(key.Length == BindingKey.SizeV4 ? Family.IPv4 : Family.IPv6);
            for (var slot = 0; bucket is not null && slot < ProbeTable.SlotsPerBucket; slot++)
                if (bucket.AsSpan(slot * slotSize, key.Length).SequenceEqual(key))
                    return true;
            return false;
        }

        static bool HasFreeSlot(BpfMap table, uint index)
        {
            var bucket = new byte[ProbeTable.BucketSize(Family.IPv4)];
            table.TryLookup(BitConverter.GetBytes(index), bucket);
            for (var slot = 0; slot < ProbeTable.SlotsPerBucket; slot++)
                if (BitConverter.ToUInt32(bucket, slot * ProbeTable.SlotSize(Family.IPv4) + BindingKey.SizeV4 - 4) is 0 or ProbeTable.Tombstone)
                    return true;
            return false;
        }
    }

    [SkippableFact]
    public void TheVerifierChecksTheDeliveryOnceForAllTreeLeaves()
    {
        // 200 host bindings on 20 destinations, as decision trees: a bind's program load. With each leaf's constant
        // destination id, Linux 6.18 verified the delivery once per id, 7,543 instructions for this set.
        using var harness = new DispatcherHarness();
        harness.Bind([.. Enumerable.Range(1, 200).Select(i => Binding.Parse($"d{i % 20}", "tcp", $"10.0.{i / 256}.{i % 256}", "80"))]);
        var program = harness.Load();
        Skip.If(program.Info.VerifiedInstructions == 0, "this kernel does not report how many instructions it verified (Linux 5.16+)");
        Assert.True(program.Info.VerifiedInstructions < 3000, $"the verifier processed {program.Info.VerifiedInstructions} instructions");
    }

    [Fact]
    public void EmptyShapePassesEverything()
    {
        using var harness = new DispatcherHarness();
        harness.Load();
        Assert.Equal(SkAction.Pass, harness.Run(Protocol.Tcp, "192.0.2.1", 80).Verdict);
    }

    [Theory]
    [MemberData(nameof(InlineLimits))]
    public void SteersRealTrafficForTheSeedUseCases(int inlineLimit)
    {
        using var netns = new TestNetNs();
        netns.AddLocalRoute("192.0.2.0/24");
        netns.AddLocalRoute("198.51.100.1/32");
        using var harness = new DispatcherHarness();
        harness.Bind(Binding.Parse("web", "tcp", "192.0.2.0/24", "80"), Binding.Parse("proxy", "tcp", "198.51.100.1", "0"),
            Binding.Parse("proxy", "udp", "198.51.100.1", "0"));
        using var web = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var proxy = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8081));
        using var proxyUdp = netns.BindUdp(new IPEndPoint(IPAddress.Loopback, 8081));
        harness.Register("web", Family.IPv4, Protocol.Tcp, web);
        harness.Register("proxy", Family.IPv4, Protocol.Tcp, proxy);
        harness.Register("proxy", Family.IPv4, Protocol.Udp, proxyUdp);
        using var link = NetNsLink.Attach(harness.Load(inlineLimit), netns.Namespace);

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, IPEndPoint.Parse("192.0.2.1:80"), web, proxy));
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, IPEndPoint.Parse("192.0.2.200:80"), web, proxy));
        Assert.Equal(1, Traffic.ConnectAndFindAcceptor(netns, IPEndPoint.Parse("198.51.100.1:22"), web, proxy));
        Assert.Equal(1, Traffic.ConnectAndFindAcceptor(netns, IPEndPoint.Parse("198.51.100.1:65535"), web, proxy));
        Assert.Equal(0, Traffic.SendAndFindReceiver(netns, IPEndPoint.Parse("198.51.100.1:5353"), proxyUdp));
        Assert.Equal(2ul, harness.Counters("web", Family.IPv4, Protocol.Tcp).Lookups);
        Assert.Equal(2ul, harness.Counters("proxy", Family.IPv4, Protocol.Tcp).Lookups);
    }

    private static ulong ExpectedCookie(Dictionary<(string, Family, Protocol), (Socket Socket, ulong Cookie)> sockets, Binding? binding) =>
        binding is null ? 0 : sockets[(binding.Label, binding.Family, binding.Protocol)].Cookie;
}
