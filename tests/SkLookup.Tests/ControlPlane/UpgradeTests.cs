using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.DataPlane;
using SkLookup.State;
using SkLookup.TestKit;

namespace SkLookup.Tests.ControlPlane;

/// <summary>A dispatcher left by another version: writes are refused until an upgrade, which swaps without dropping a connection.</summary>
public sealed class UpgradeTests
{
    /// <summary>
    /// Makes the state look as if an older version had loaded it: a program that steers the same way
    /// but is generated differently (every class hashed), and a meta record naming an older generator.
    /// </summary>
    private static void ActAsOlderVersion(Scenario scenario, uint layoutVersion = DispatcherLayout.Version, string generator = "sk_dispatcher/0")
    {
        using var d = scenario.Open(write: true);
        var pairs = d.Bindings().Select(b => (b.Match, d.DestinationIdOf(b.Match)!.Value)).ToList();
        var maps = ControlLayout.AllMaps.ToDictionary(spec => spec.Name, spec => d.Map(spec.Name));
        using var older = DispatcherLoader.Load(DispatcherShape.From(pairs, inlineLimit: 0), maps);
        using (var attached = BpfProgram.OpenById(d.Link!.ReadInfo().ProgramId))
            d.Link.Update(older, attached);
        File.Delete(Path.Combine(d.StatePath, "program"));
        older.Pin(Path.Combine(d.StatePath, "program"));
        new DispatcherMeta(layoutVersion, 7, older.Info.Tag, older.Info.Tag, new string('0', 32), generator).Write(d.Map(ControlLayout.Meta.Name));
    }

    [Fact]
    public void WritesToAnotherVersionAreRefusedUntilUpgrade()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.Close();
        ActAsOlderVersion(scenario);

        using (var d = scenario.Open(write: true))
        {
            var error = Assert.Throws<SteeringException>(() => d.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "443")));
            Assert.Equal(SteeringError.VersionMismatch, error.Error);
            Assert.Contains("run upgrade", error.Message);
            Assert.Contains("sk_dispatcher/0", error.Message);
            Assert.Throws<SteeringException>(() => d.ReplaceBindings([], dryRun: false));
            Assert.Throws<SteeringException>(() => d.SetFallThrough("web", true));
            // Reading is fine: the layout is the same.
            Assert.Single(d.Bindings());
            var version = d.Version();
            Assert.True(version.UpgradeDue);
            Assert.Contains("sk_dispatcher/0", version.Loaded);
            Assert.Contains("sk_dispatcher/0", version.Reason);
            Assert.Equal(Dispatcher.CurrentVersion, version.Current);
        }

        var result = Dispatcher.Upgrade(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        Assert.Contains("sk_dispatcher/0", result.FromVersion);
        Assert.Contains(DispatcherShape.GeneratorVersion, result.ToVersion);
        Assert.False(result.MapsMigrated);
        Assert.False(result.WasCurrent);

        using (var d = scenario.Open(write: true))
        {
            d.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "443"));
            Assert.Equal(2, d.Bindings().Count);
            var version = d.Version();
            Assert.False(version.UpgradeDue);
            Assert.Null(version.Reason);
            Assert.Equal(Dispatcher.CurrentVersion, version.Loaded);
            Assert.Equal(d.Program.Tag, version.ProgramTag);
        }
        Assert.True(Dispatcher.Upgrade(scenario.NetNs.Namespace, scenario.BpfFs.Path).WasCurrent);
    }

    [Fact]
    public void ForeignProgramWithOurVersionRecordIsRefused()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.Close();
        // Someone swapped the program through the link but left our meta record as it was.
        using (var d = scenario.Open(write: true))
        {
            // (A program that passes everything would be this version's program for no bindings, which it knows.)
            using var foreign = BpfProgram.Load(new SkLookup.Bpf.Asm.Assembler().Return(SkLookup.Bpf.Asm.SkAction.Drop).Build("foreign"));
            using var attached = BpfProgram.OpenById(d.Link!.ReadInfo().ProgramId);
            d.Link.Update(foreign, attached);
        }
        using (var d = scenario.Open(write: true))
        {
            var error = Assert.Throws<SteeringException>(() => d.RemoveBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80")));
            Assert.Equal(SteeringError.VersionMismatch, error.Error);
            Assert.Contains("run upgrade", error.Message);
            Assert.True(d.Version().UpgradeDue);
            Assert.Contains("not one this version attached", d.Version().Reason);
        }
        Assert.Equal(SkLookup.Bpf.Asm.SkAction.Drop, scenario.Run(Protocol.Tcp, "192.0.2.1", 81).Verdict);
        Assert.False(Dispatcher.Upgrade(scenario.NetNs.Namespace, scenario.BpfFs.Path).WasCurrent);
        Assert.Equal(SkLookup.Bpf.Asm.SkAction.Pass, scenario.Run(Protocol.Tcp, "192.0.2.1", 81).Verdict);
        Assert.Equal(SkLookup.Bpf.Asm.SkAction.Drop, scenario.Run(Protocol.Tcp, "192.0.2.1", 80).Verdict);
    }

    [Fact]
    public void DifferentLayoutIsRefusedEvenForReading()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.Close();
        ActAsOlderVersion(scenario, layoutVersion: 0);
        using var d = scenario.Open();
        Assert.Equal(SteeringError.VersionMismatch, Assert.Throws<SteeringException>(() => d.Bindings()).Error);
        Assert.True(d.Version().UpgradeDue);
        Assert.Contains("layout 0", d.Version().Reason);
    }

    [Fact]
    public void UpgradeWhileTrafficFlowsDropsNoConnection() => UpgradeUnderTraffic(migrate: false);

    [Fact]
    public void LayoutMigrationWhileTrafficFlowsDropsNoConnection() => UpgradeUnderTraffic(migrate: true);

    private static void UpgradeUnderTraffic(bool migrate)
    {
        using var scenario = new Scenario();
        scenario.NetNs.AddLocalRoute("192.0.2.0/24");
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        scenario.D.RegisterSocket("web", web);
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.7", "any"));
        scenario.D.SetFallThrough("web", true);
        scenario.Close();

        var mapIds = PinnedMapIds(scenario);
        using var traffic = new ConnectionLoop(scenario.NetNs, web, IPEndPoint.Parse("192.0.2.1:80"));
        const int Rounds = 10;
        for (var round = 0; round < Rounds; round++)
        {
            ActAsOlderVersion(scenario, layoutVersion: migrate ? 0 : DispatcherLayout.Version);
            var before = traffic.Succeeded;
            traffic.WaitFor(before + 5);
            var result = Dispatcher.Upgrade(scenario.NetNs.Namespace, scenario.BpfFs.Path);
            Assert.Equal(migrate, result.MapsMigrated);
            traffic.WaitFor(traffic.Succeeded + 5);
        }
        traffic.Stop();
        Assert.Empty(traffic.Failures);
        // A migration builds new maps, except for the sockets map: sockets cannot be copied from user space.
        var after = PinnedMapIds(scenario);
        Assert.Equal(mapIds[DispatcherLayout.Sockets.Name], after[DispatcherLayout.Sockets.Name]);
        Assert.Equal(migrate, mapIds[DispatcherLayout.Bindings4.Name] != after[DispatcherLayout.Bindings4.Name]);
        Assert.Equal(migrate, mapIds[DispatcherLayout.Metrics.Name] != after[DispatcherLayout.Metrics.Name]);
        Assert.True(traffic.Succeeded >= Rounds * 10);

        // Everything survived: bindings, the socket, the label's option.
        using var d = scenario.Open(write: true);
        Assert.Equal(2, d.Bindings().Count);
        var status = d.Destinations().Single();
        Assert.Equal(SocketCookie.Read(web), status.SocketCookie);
        Assert.True(status.FallThrough);
        // Migration copies the counters, but lookups made between the copy and the swap count in the old map.
        if (!migrate)
            Assert.True(status.Counters.Lookups >= (ulong)traffic.Succeeded);
        d.AddBinding(Scenario.B("web", "tcp", "192.0.2.8", "81"));
    }

    private static Dictionary<string, uint> PinnedMapIds(Scenario scenario) => ControlLayout.AllMaps.ToDictionary(spec => spec.Name, spec =>
    {
        using var map = BpfMap.OpenPinned(Path.Combine(scenario.StatePath, spec.Name));
        return map.Info.Id;
    });

    /// <summary>Connects in a loop on its own thread, accepting each connection, and records every failure.</summary>
    private sealed class ConnectionLoop : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private int _succeeded;

        public ConnectionLoop(TestNetNs netns, Socket listener, IPEndPoint destination)
        {
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    try
                    {
                        Traffic.ConnectAndFindAcceptor(netns, destination, listener);
                        Interlocked.Increment(ref _succeeded);
                    }
                    catch (Exception exception)
                    {
                        Failures.Add(exception);
                    }
                }
            });
            _thread.Start();
        }

        public int Succeeded => Volatile.Read(ref _succeeded);

        public System.Collections.Concurrent.ConcurrentBag<Exception> Failures { get; } = [];

        public void WaitFor(int count)
        {
            var deadline = DateTime.UtcNow + TestTiming.Scale(TimeSpan.FromSeconds(30));
            while (Succeeded < count && Failures.IsEmpty && DateTime.UtcNow < deadline)
                Thread.Sleep(1);
        }

        public void Stop()
        {
            _stop = true;
            _thread.Join();
        }

        public void Dispose() => Stop();
    }
}
