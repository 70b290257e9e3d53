using System.Diagnostics;
using System.Net;
using SkLookup.Bpf;
using Xunit.Abstractions;

namespace SkLookup.Tests.ControlPlane;

/// <summary>Replacing the whole binding set: the diff, dry runs, atomicity, and speed.</summary>
public sealed class ApplyTests(ITestOutputHelper output)
{
    private static Binding B(string label, string protocol, string prefix, string port) => Scenario.B(label, protocol, prefix, port);

    [Fact]
    public void ReturnsTheDiffAndDryRunChangesNothing()
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        d.AddBinding(B("web", "tcp", "192.0.2.0/24", "80"));
        d.AddBinding(B("dns", "udp", "192.0.2.53", "53"));
        d.AddBinding(B("old", "tcp", "198.51.100.0/24", "any"));
        Binding[] desired =
        [
            B("web", "tcp", "192.0.2.0/24", "80"),
            B("dns2", "udp", "192.0.2.53", "53"),  // relabelled
            B("new", "tcp", "2001:db8::/64", "443"),
            B("new", "tcp", "2001:db8::/64", "443"), // duplicates are fine
        ];
        var programId = d.Program.Id;
        var dry = d.ReplaceBindings(desired, dryRun: true);
        Assert.Equal([B("new", "tcp", "2001:db8::/64", "443"), B("dns2", "udp", "192.0.2.53", "53")], dry.Added);
        Assert.Equal([B("dns", "udp", "192.0.2.53", "53"), B("old", "tcp", "198.51.100.0/24", "any")], dry.Removed);
        Assert.Equal(3, d.Bindings().Count);
        Assert.Equal(programId, d.Program.Id);

        var diff = d.ReplaceBindings(desired, dryRun: false);
        Assert.Equal(dry.Added, diff.Added);
        Assert.Equal(dry.Removed, diff.Removed);
        Assert.Equal(BindingTable.Sort(desired.Distinct()), d.Bindings());
        Assert.Equal(["dns2", "new", "web"], d.Destinations().Select(s => s.Label));
        Assert.True(d.ReplaceBindings(desired, dryRun: false).IsEmpty);

        // No stray pins after the swap.
        Assert.DoesNotContain(Directory.EnumerateFiles(scenario.StatePath), f => f.EndsWith("-new", StringComparison.Ordinal));

        var conflict = Assert.Throws<SteeringException>(() => d.ReplaceBindings([B("a", "tcp", "192.0.2.0/24", "80"), B("b", "tcp", "192.0.2.0/24", "80")], dryRun: false));
        Assert.Equal(SteeringError.AlreadyExists, conflict.Error);
        Assert.Equal(3, d.Bindings().Count);

        Assert.Empty(d.ReplaceBindings([], dryRun: false).Added);
        Assert.Empty(d.Bindings());
        Assert.Empty(d.Destinations());
    }

    [Fact]
    public void ReadersSeeTheOldSetOrTheNewNeverAMix()
    {
        using var scenario = new Scenario();
        using var sockets = new SocketSet(scenario, ["old", "new"]);
        var d = scenario.D;
        // Enough bindings that both sets use hash tables, and a compiled one too.
        const int Count = 1200;
        var addresses = Enumerable.Range(0, Count).Select(i => $"198.51.{i / 250}.{i % 250 + 1}").ToList();
        List<Binding> Set(string label, int port) => addresses.Select(a => B(label, "tcp", a, port.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Append(B(label, "udp", "192.0.2.0/24", "53")).ToList();
        var oldSet = Set("old", 80);
        var newSet = Set("new", 80);
        d.ReplaceBindings(oldSet, dryRun: false);

        var stop = false;
        var seen = new Dictionary<string, int>();
        var mixed = new List<string>();
        var probes = addresses.Where((_, i) => i % 40 == 0).ToList();
        var reader = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                // Each round runs one program: the one the link runs when the round starts.
                using var link = NetNsLink.OpenPinned(Path.Combine(scenario.StatePath, "link"));
                BpfProgram program;
                try
                {
                    program = BpfProgram.OpenById(link.ReadInfo().ProgramId);
                }
                catch (BpfException exception) when (exception.Reason == BpfErrorReason.NotFound)
                {
                    continue; // Swapped out and freed between reading the link and opening the program.
                }
                using var held = program;
                var labels = probes.Select(a => sockets.LabelOf(Scenario.Run(program, Protocol.Tcp, a, 80).SelectedSocketCookie) ?? "none")
                    .Append(sockets.LabelOf(Scenario.Run(program, Protocol.Udp, "192.0.2.9", 53).SelectedSocketCookie) ?? "none")
                    .Distinct().ToList();
                if (labels.Count != 1)
                    mixed.Add(string.Join(",", labels));
                else
                    seen[labels[0]] = seen.GetValueOrDefault(labels[0]) + 1;
            }
        });
        reader.Start();
        for (var round = 0; round < 10; round++)
        {
            d.ReplaceBindings(round % 2 == 0 ? newSet : oldSet, dryRun: false);
            Thread.Sleep(20);
        }
        Volatile.Write(ref stop, true);
        reader.Join();
        Assert.Empty(mixed);
        Assert.True(seen.ContainsKey("old") && seen.ContainsKey("new"), $"seen: {string.Join(", ", seen)}");
        Assert.False(seen.ContainsKey("none"));
    }

    [Theory]
    [InlineData(100_000)]
    [InlineData(1_000_000)]
    public void AppliesLargeSets(int count)
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        var labels = Enumerable.Range(0, 100).Select(i => $"service{i}").ToArray();
        var bindings = new List<Binding>(count);
        for (var i = 0; i < count; i++)
        {
            // Three quarters IPv4 /32s with a port, a quarter IPv6 /64s for any port.
            Binding binding = i % 4 != 0
                ? new(labels[i % labels.Length], Protocol.Tcp, new IPNetwork(new IPAddress(BitConverter.GetBytes(0x0000000Au | (uint)i << 8)), 32), (ushort)(80 + i % 3))
                : new(labels[i % labels.Length], Protocol.Udp, new IPNetwork(IPAddress.Parse($"2001:db8:{i >> 16:x}:{i & 0xffff:x}::"), 64), 0);
            bindings.Add(binding);
        }
        var clock = Stopwatch.StartNew();
        var cpu = CpuTime();
        var diff = d.ReplaceBindings(bindings, dryRun: false);
        var applied = clock.Elapsed;
        var appliedCpu = CpuTime() - cpu;
        Assert.Equal(count, diff.Added.Count);

        clock.Restart();
        var listed = d.Bindings();
        var listing = clock.Elapsed;
        Assert.Equal(count, listed.Count);

        // Replace again with one binding moved: the cost of a small change to a large set.
        bindings[0] = bindings[0] with { Label = "moved" };
        clock.Restart();
        cpu = CpuTime();
        var change = d.ReplaceBindings(bindings, dryRun: false);
        var reapplied = clock.Elapsed;
        var reappliedCpu = CpuTime() - cpu;
        Assert.Single(change.Added);

        var probe = bindings[1];
        Assert.Equal(SkLookup.Bpf.Asm.SkAction.Drop, scenario.Run(probe.Protocol, probe.Prefix.BaseAddress.ToString(), probe.Port).Verdict);
        // Wall time suffers when other processes compete for the CPUs; the process's CPU time (user and
        // system, so kernel work in bpf(2) included) does not, and it includes the garbage collector's threads.
        output.WriteLine($"{count} bindings: apply {applied.TotalMilliseconds:0} ms (cpu {appliedCpu.TotalMilliseconds:0} ms), " +
            $"list {listing.TotalMilliseconds:0} ms, re-apply with one change {reapplied.TotalMilliseconds:0} ms (cpu {reappliedCpu.TotalMilliseconds:0} ms)");
    }

    private static TimeSpan CpuTime() => Process.GetCurrentProcess().TotalProcessorTime;
}
