using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using SkLookup.DataPlane;
using SkLookup.State;

namespace SkLookup.Tests.ControlPlane;

/// <summary>State that a crashed command left behind is finished or discarded by the next writer.</summary>
public sealed class RecoveryTests
{
    [Fact]
    public void StagedPinsOfASwapThatNeverHappenedAreDiscarded()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        var programId = scenario.D.Program.Id;
        scenario.Close();
        using (var map = BpfMap.Create(DispatcherLayout.Bindings4))
            map.Pin(Path.Combine(scenario.StatePath, "sk_bind4-new"));
        using (var program = BpfProgram.Load(new Assembler().Return(SkAction.Drop).Build("staged")))
            program.Pin(Path.Combine(scenario.StatePath, "program-new"));

        using var d = scenario.Open(write: true);
        Assert.False(File.Exists(Path.Combine(scenario.StatePath, "sk_bind4-new")));
        Assert.False(File.Exists(Path.Combine(scenario.StatePath, "program-new")));
        Assert.Equal(programId, d.Program.Id);
        Assert.Single(d.Bindings());
    }

    [Fact]
    public void StagedPinsOfASwapThatHappenedAreRenamedIntoPlace()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        var d = scenario.D;
        // Crash right after the link update of an apply: new maps and program staged and attached, not renamed.
        var empty = BpfMap.Create(DispatcherLayout.Bindings4);
        var maps = ControlLayout.AllMaps.ToDictionary(spec => spec.Name, spec => d.Map(spec.Name));
        maps[DispatcherLayout.Bindings4.Name] = empty;
        using var program = DispatcherLoader.Load(DispatcherShape.Empty, maps);
        empty.Pin(Path.Combine(scenario.StatePath, "sk_bind4-new"));
        program.Pin(Path.Combine(scenario.StatePath, "program-new"));
        using (var attached = BpfProgram.OpenById(d.Link!.ReadInfo().ProgramId))
            d.Link.Update(program, attached);
        empty.Dispose();
        scenario.Close();

        using var reopened = scenario.Open(write: true);
        Assert.False(File.Exists(Path.Combine(scenario.StatePath, "program-new")));
        using var pinned = BpfProgram.OpenPinned(Path.Combine(scenario.StatePath, "program"));
        Assert.Equal(program.Info.Id, pinned.Info.Id);
        Assert.Empty(reopened.Bindings()); // The new (empty) binding map is the one in place.
    }

    [Fact]
    public void AReaderFinishesAnInterruptedSwapAndSaysSo()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        var program = StageSwapToEmpty(scenario);
        scenario.Close();

        using var reader = scenario.Open();
        Assert.Empty(reader.Bindings()); // What the attached program steers: the staged, empty set.
        Assert.Contains("this command finished it", reader.InterruptedWrite);
        Assert.False(File.Exists(Path.Combine(scenario.StatePath, "program-new")));
        Assert.Equal(program, reader.Program.Id);
    }

    [Fact]
    public void AReaderThatCannotFinishASwapSeesThroughItAndNamesTheRepair()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        StageSwapToEmpty(scenario);
        scenario.Close();
        // Another reader's shared lock keeps this one from finishing the swap (as missing rights would).
        using var other = StateLock.TryAcquire(scenario.StatePath, exclusive: false, TimeSpan.FromSeconds(5));

        using var reader = scenario.Open(timeout: TimeSpan.FromMilliseconds(50));
        Assert.Empty(reader.Bindings());
        Assert.Contains("sklookup upgrade", reader.InterruptedWrite);
        Assert.True(File.Exists(Path.Combine(scenario.StatePath, "program-new")));
    }

    [Fact]
    public void AnInterruptedApplyLeavesNoOrphanDestinations()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.Close();
        using (var writer = scenario.Open(write: true))
        {
            // What an apply killed after making its destinations leaves: a destination without bindings or socket, and the mark.
            writer.SetFallThrough("other", false);
            var metaMap = writer.Map(ControlLayout.Meta.Name);
            (DispatcherMeta.Read(metaMap)! with { WriteInProgress = true, Kind = WriteKind.Apply }).Write(metaMap);
            writer.Map(ControlLayout.Labels.Name).Update(LabelKey.Encode("orphan", (byte)Family.IPv4, (byte)Protocol.Tcp), BitConverter.GetBytes(7u));
        }
        using var reader = scenario.Open();
        Assert.Equal(["web"], reader.Destinations().Select(d => d.Label));
        Assert.Contains("an apply", reader.InterruptedWrite);
    }

    /// <summary>Leaves the state as an apply to the empty set killed right after its link update: new maps and program staged and attached.</summary>
    private static uint StageSwapToEmpty(Scenario scenario)
    {
        var d = scenario.D;
        using var empty = BpfMap.Create(DispatcherLayout.Bindings4);
        var maps = ControlLayout.AllMaps.ToDictionary(spec => spec.Name, spec => d.Map(spec.Name));
        maps[DispatcherLayout.Bindings4.Name] = empty;
        using var program = DispatcherLoader.Load(DispatcherShape.Empty, maps);
        empty.Pin(Path.Combine(scenario.StatePath, "sk_bind4-new"));
        program.Pin(Path.Combine(scenario.StatePath, "program-new"));
        using (var attached = BpfProgram.OpenById(d.Link!.ReadInfo().ProgramId))
            d.Link.Update(program, attached);
        return program.Info.Id;
    }

    [Fact]
    public void InterruptedInPlaceWriteIsRebuiltByTheNextWriter()
    {
        using var scenario = new Scenario();
        using var sockets = new SocketSet(scenario, ["web"]);
        var d = scenario.D;
        d.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        var id = d.DestinationIdOf(Scenario.B("web", "tcp", "192.0.2.0/24", "80").Match)!.Value;
        // A crash after the map write of a second binding, before the program learned of it.
        d.Map(DispatcherLayout.Bindings4.Name).Update(BindingKey.Encode(Scenario.B("web", "tcp", "198.51.100.0/24", "80").Match), BitConverter.GetBytes(id));
        var metaMap = d.Map(ControlLayout.Meta.Name);
        (DispatcherMeta.Read(metaMap)! with { WriteInProgress = true }).Write(metaMap);
        scenario.Close();
        Assert.Null(sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.100.1", 80).SelectedSocketCookie));

        using (var writer = scenario.Open(write: true))
        {
            writer.SetFallThrough("other", false); // Any write checks the state first.
            Assert.False(DispatcherMeta.Read(writer.Map(ControlLayout.Meta.Name))!.WriteInProgress);
            Assert.Equal(2, writer.Bindings().Count);
        }
        Assert.Equal("web", sockets.LabelOf(scenario.Run(Protocol.Tcp, "198.51.100.1", 80).SelectedSocketCookie));
    }

    [Fact]
    public void StateOfADeadNamespaceIsNotLoadedAndLoadReplacesIt()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.Close();
        // What a dead namespace leaves: a link that reports namespace 0.
        using (var link = NetNsLink.OpenPinned(Path.Combine(scenario.StatePath, "link")))
            link.Detach();
        Assert.Equal(SteeringError.NotLoaded, Assert.Throws<SteeringException>(() => scenario.Open()).Error);

        scenario.Dispatcher = Dispatcher.Load(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        Assert.Empty(scenario.D.Bindings());
        Assert.Equal([scenario.D.Program.Id], scenario.NetNs.Namespace.QueryPrograms());
    }

    [Fact]
    public void DestinationIdsRunOut()
    {
        using var scenario = new Scenario();
        var labels = Enumerable.Range(0, (int)DispatcherLayout.MaxDestinations).Select(i => $"l{i}").ToList();
        // Each binding needs its own destination: label i for prefix i.
        var bindings = labels.Select((label, i) => new Binding(label, Protocol.Tcp,
            new System.Net.IPNetwork(new System.Net.IPAddress(BitConverter.GetBytes(0x0000000Au | (uint)i << 8)), 32), 80)).ToList();
        scenario.D.ReplaceBindings(bindings, dryRun: false);
        Assert.Equal((int)DispatcherLayout.MaxDestinations, scenario.D.Destinations().Count);
        var error = Assert.Throws<SteeringException>(() => scenario.D.AddBinding(Scenario.B("one-more", "tcp", "192.0.2.1", "80")));
        Assert.Equal(SteeringError.CapacityExceeded, error.Error);
        Assert.Equal(bindings.Count, scenario.D.Bindings().Count);
    }
}
