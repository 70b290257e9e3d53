using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using SkLookup.Bpf.Features;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests.Elf;

/// <summary>ELF objects loaded into the real kernel: the verifier accepts them, and the programs do what their C says.</summary>
public sealed class BpfCollectionTests
{
    private static readonly IPEndPoint Local = new(IPAddress.Loopback, 7007);
    private static readonly IPEndPoint Remote = new(IPAddress.Parse("127.0.0.2"), 8008);

    private static FileDescriptor Fd(Socket socket) => new((int)socket.Handle, ownsHandle: false);

    private static byte[] Key(uint slot) => BpfObjects.Key(slot);

    [Theory]
    [MemberData(nameof(BpfObjects.Loadable), MemberType = typeof(BpfObjects))]
    public void EveryObjectLoadsWithMapsAsSpecified(string name)
    {
        var spec = BpfObjects.Read(name);
        using var bpffs = new TestBpfFs();
        var programs = spec.Programs.Keys.ToList();
        if (name == BpfObjects.Suite && !Probe.HasIngressIfindex)
        {
            // Before 5.17, check_ifindex reads a field the kernel does not have: the whole load says so.
            using (var failed = new TestBpfFs())
            {
                var missing = Assert.Throws<BpfNotSupportedException>(() => BpfCollection.Load(spec, new CollectionOptions { PinRoot = failed.Path }).Dispose());
                Assert.Equal("5.17", missing.MinimumKernel);
                Assert.Contains("'check_ifindex'", missing.Message);
            }
            programs.Remove("check_ifindex");
        }

        using var collection = BpfCollection.Load(spec, new CollectionOptions { PinRoot = bpffs.Path, ProgramNames = programs });

        Assert.Equal(programs.Order(), collection.Programs.Keys.Order());
        foreach (var (programName, program) in collection.Programs)
        {
            Assert.Equal(spec.Programs[programName].Type, program.Info.Type);
            Assert.Equal(programName[..Math.Min(15, programName.Length)], program.Info.Name);
        }
        Assert.Equal(spec.Maps.Keys.Order(), collection.Maps.Keys.Order());
        foreach (var (mapName, map) in collection.Maps)
        {
            var mapSpec = spec.Maps[mapName];
            Assert.Equal((mapSpec.Type, mapSpec.KeySize, mapSpec.ValueSize, mapSpec.MaxEntries, (uint)mapSpec.Flags),
                (map.Info.Type, map.Info.KeySize, map.Info.ValueSize, map.Info.MaxEntries, map.Info.Flags));
            Assert.Equal(mapSpec.KernelName, map.Info.Name);
            foreach (var (key, value) in mapSpec.Contents)
                Assert.Equal(value, map.Lookup(key));
        }
    }

    [Fact]
    public void RodataIsFrozenAndDataIsWritable()
    {
        using var collection = BpfCollection.Load(BpfObjects.Read(BpfObjects.Suite), new CollectionOptions { ProgramNames = [] });

        var rodata = collection.Maps[".rodata"];
        var error = Assert.Throws<BpfException>(() => rodata.Update(Key(0), new byte[rodata.ValueSize]));
        Assert.Equal(BpfErrorReason.PermissionDenied, error.Reason);

        collection.Maps[".data"].Update(Key(0), BitConverter.GetBytes(42u));
        Assert.Equal(BitConverter.GetBytes(42u), collection.Maps[".data"].Lookup(Key(0)));
        Assert.Empty(collection.Programs);
    }

    [SkippableTheory]
    [InlineData("sk_assign_eexist")]
    [InlineData("sk_assign_replace_flag")]
    [InlineData("sk_assign_null")]
    [InlineData("access_ctx_sk")]
    [InlineData("ctx_narrow_access")]
    public void SuiteProgramsSelectServerBInATestRun(string program)
    {
        // Each of these programs ends with "PASS, server B selected" when every check inside it held.
        KernelRequirement.Require(Probe.Feature.SkLookupTestRun);
        using var netns = new TestNetNs();
        using var serverA = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7101));
        using var serverB = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7102));
        using var collection = BpfCollection.Load(BpfObjects.Read(BpfObjects.Suite), new CollectionOptions { ProgramNames = [program] });
        var redirMap = collection.Maps["redir_map"];
        redirMap.UpdateSocket(Key(0), Fd(serverA));
        redirMap.UpdateSocket(Key(1), Fd(serverB));

        // ctx_narrow_access compares the context with .rodata: local dst_ip4:dst_port, remote src_ip4:src_port.
        var result = netns.Run(() => collection.Programs[program].TestRun(new SkLookupTestInput(ProtocolType.Tcp, Remote, Local)));

        if (program == "ctx_narrow_access" && !Probe.HasNarrowRemotePort)
        {
            // Before 5.18 the 2-byte load after remote_port reads the port again, not the padding's 0:
            // the program drops at that check (step 33) and says so in .bss.
            Assert.Equal(SkAction.Drop, result.Verdict);
            Assert.Equal(33u, BitConverter.ToUInt32(collection.Maps[".bss"].Lookup(Key(0))!, BpfObjects.Read(BpfObjects.Suite).Variables["narrow_fail_step"].Offset));
            return;
        }
        Assert.Equal(SkAction.Pass, result.Verdict);
        Assert.Equal(redirMap.LookupSocketCookie(Key(1)), result.SelectedSocketCookie);
        Assert.Equal(new byte[8], collection.Maps[".bss"].Lookup(Key(0))); // No diagnostics written.
    }

    [Fact]
    public void BssRecordsWhatTheProgramSaw()
    {
        // With server A's slot empty, sk_assign_esocknosupport gets -ENOENT instead of -ESOCKTNOSUPPORT and records it.
        using var netns = new TestNetNs();
        var spec = BpfObjects.Read(BpfObjects.Suite);
        using var collection = BpfCollection.Load(spec, new CollectionOptions { ProgramNames = ["sk_assign_esocknosupport"] });

        var result = netns.Run(() => collection.Programs["sk_assign_esocknosupport"].TestRun(new SkLookupTestInput(ProtocolType.Tcp, Remote, Local)));

        Assert.Equal(SkAction.Drop, result.Verdict);
        var variable = spec.Variables["last_assign_err"];
        var bss = collection.Maps[variable.MapName].Lookup(Key(0))!;
        Assert.Equal(-Errno.ENOENT, BinaryPrimitives.ReadInt32LittleEndian(bss.AsSpan(variable.Offset, variable.Size)));
    }

    [Theory]
    [InlineData(null, 7007, 9009)]
    [InlineData(9009, 9009, 7007)]
    public void RedirPortSteersConnectionsForDstPortOnly(int? rewrittenPort, int steeredPort, int otherPort)
    {
        var spec = BpfObjects.Read(BpfObjects.Suite);
        if (rewrittenPort is { } port)
            spec.RewriteConstants(new Dictionary<string, object> { ["dst_port"] = port });
        using var netns = new TestNetNs();
        using var serverA = netns.Listen(new IPEndPoint(IPAddress.Loopback, 6000));
        using var onSteered = netns.Listen(new IPEndPoint(IPAddress.Loopback, steeredPort));
        using var onOther = netns.Listen(new IPEndPoint(IPAddress.Loopback, otherPort));
        using var collection = BpfCollection.Load(spec, new CollectionOptions { ProgramNames = ["redir_port"] });
        collection.Maps["redir_map"].UpdateSocket(Key(0), Fd(serverA));
        using var link = NetNsLink.Attach(collection.Programs["redir_port"], netns.Namespace);

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, new IPEndPoint(IPAddress.Loopback, steeredPort), serverA, onSteered, onOther));
        Assert.Equal(2, Traffic.ConnectAndFindAcceptor(netns, new IPEndPoint(IPAddress.Loopback, otherPort), serverA, onSteered, onOther));
    }

    [SkippableFact]
    public void DataVariableChangesBehaviourAfterLoad()
    {
        // check_ifindex drops what arrives on drop_ifindex (.data, 1 = lo) until user space changes it.
        KernelRequirement.Require(Probe.Feature.IngressIfindex);
        using var netns = new TestNetNs();
        using var listener = netns.Listen(Local);
        var spec = BpfObjects.Read(BpfObjects.Suite);
        using var collection = BpfCollection.Load(spec, new CollectionOptions { ProgramNames = ["check_ifindex"] });
        using var link = NetNsLink.Attach(collection.Programs["check_ifindex"], netns.Namespace);

        var refused = Assert.Throws<SocketException>(() => Traffic.ConnectAndFindAcceptor(netns, Local, listener));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        var variable = spec.Variables["drop_ifindex"];
        var data = collection.Maps[variable.MapName];
        var value = data.Lookup(Key(0))!;
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(variable.Offset), 0);
        data.Update(Key(0), value);

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, Local, listener));
    }

    [Fact]
    public void SeveralProgramsFromOneSectionRunInOrder()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(Local);
        using var collection = BpfCollection.Load(BpfObjects.Read(BpfObjects.Suite),
            new CollectionOptions { ProgramNames = ["multi_prog_pass1", "multi_prog_pass2"] });
        using var first = NetNsLink.Attach(collection.Programs["multi_prog_pass1"], netns.Namespace);
        using var second = NetNsLink.Attach(collection.Programs["multi_prog_pass2"], netns.Namespace);

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(netns, Local, listener));

        Assert.Equal(BitConverter.GetBytes(1u), collection.Maps["run_map"].Lookup(Key(0)));
        Assert.Equal(BitConverter.GetBytes(1u), collection.Maps["run_map"].Lookup(Key(1)));
    }

    [Theory]
    [InlineData(ProtocolType.Tcp, 0u)]
    [InlineData(ProtocolType.Udp, 1u)]
    public void Bpf2BpfProgramsCallTheirFunctions(ProtocolType protocol, uint slot)
    {
        // steer_by_protocol calls slot_for_protocol, then steer_to_slot: TCP goes to slot 0, UDP to slot 1.
        using var netns = new TestNetNs();
        using var tcp = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7201));
        using var udp = netns.BindUdp(new IPEndPoint(IPAddress.Loopback, 7202));
        using var collection = BpfCollection.Load(BpfObjects.Read(BpfObjects.Bpf2Bpf));
        var steerMap = collection.Maps["steer_map"];
        steerMap.UpdateSocket(Key(0), Fd(tcp));
        steerMap.UpdateSocket(Key(1), Fd(udp));

        var result = netns.Run(() => collection.Programs["steer_by_protocol"].TestRun(new SkLookupTestInput(protocol, Remote, Local)));

        Assert.Equal(SkAction.Pass, result.Verdict);
        Assert.Equal(steerMap.LookupSocketCookie(Key(slot)), result.SelectedSocketCookie);
    }

    [Theory]
    [InlineData(null, 7007, true)]
    [InlineData(null, 8008, false)]
    [InlineData(8008, 8008, true)]
    [InlineData(8008, 7007, false)]
    public void RewrittenConstantRetargetsABpf2BpfProgram(int? steerPort, int lookupPort, bool steered)
    {
        var spec = BpfObjects.Read(BpfObjects.Bpf2Bpf);
        if (steerPort is { } port)
            spec.RewriteConstants(new Dictionary<string, object> { ["steer_port"] = port });
        using var netns = new TestNetNs();
        using var server = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7201));
        using var collection = BpfCollection.Load(spec, new CollectionOptions { ProgramNames = ["steer_by_port"] });
        collection.Maps["steer_map"].UpdateSocket(Key(0), Fd(server));

        var result = netns.Run(() => collection.Programs["steer_by_port"].TestRun(
            new SkLookupTestInput(ProtocolType.Tcp, Remote, new IPEndPoint(IPAddress.Loopback, lookupPort))));

        Assert.Equal(SkAction.Pass, result.Verdict);
        Assert.Equal(steered ? collection.Maps["steer_map"].LookupSocketCookie(Key(0)) : 0UL, result.SelectedSocketCookie);
    }

    [Fact]
    public void LegacyMapsWork()
    {
        using var netns = new TestNetNs();
        using var server = netns.Listen(new IPEndPoint(IPAddress.Loopback, 7301));
        using var collection = BpfCollection.Load(BpfObjects.Read(BpfObjects.LegacyMaps));
        collection.Maps["legacy_sockets"].UpdateSocket(Key(0), Fd(server));

        var result = netns.Run(() => collection.Programs["legacy_select"].TestRun(new SkLookupTestInput(ProtocolType.Tcp, Remote, Local), repeat: 3));

        Assert.Equal(SkAction.Pass, result.Verdict);
        Assert.Equal(collection.Maps["legacy_sockets"].LookupSocketCookie(Key(0)), result.SelectedSocketCookie);
        Assert.Equal(BitConverter.GetBytes(3UL), collection.Maps["legacy_hits"].Lookup(Key(0)));
    }

    [Fact]
    public void PinnedMapsArePinnedUnderTheRootAndReusedOnTheNextLoad()
    {
        using var bpffs = new TestBpfFs();
        var spec = BpfObjects.Read(BpfObjects.PinnedMaps);
        var options = new CollectionOptions { PinRoot = bpffs.Path };
        var input = new SkLookupTestInput(ProtocolType.Tcp, Remote, Local);
        uint hitsId, scratchId;

        using (var first = BpfCollection.Load(spec, options))
        {
            Assert.Equal(["pinned_hits", "pinned_sockets"], bpffs.UserEntries().Order());
            using (var pinned = BpfMap.OpenPinned(bpffs["pinned_hits"]))
                Assert.Equal(first.Maps["pinned_hits"].Info.Id, pinned.Info.Id);
            first.Programs["pinned_select"].TestRun(input);
            Assert.Equal(BitConverter.GetBytes(1UL), first.Maps["pinned_hits"].Lookup(Key(0)));
            hitsId = first.Maps["pinned_hits"].Info.Id;
            scratchId = first.Maps["unpinned_scratch"].Info.Id;
        }

        using var second = BpfCollection.Load(spec, options);
        Assert.Equal(hitsId, second.Maps["pinned_hits"].Info.Id);
        Assert.NotEqual(scratchId, second.Maps["unpinned_scratch"].Info.Id);
        second.Programs["pinned_select"].TestRun(input);
        Assert.Equal(BitConverter.GetBytes(2UL), second.Maps["pinned_hits"].Lookup(Key(0)));
        Assert.Equal(["pinned_hits", "pinned_sockets"], bpffs.UserEntries().Order());
    }

    [Fact]
    public void PinnedMapsNeedAPinRoot()
    {
        var error = Assert.Throws<BpfException>(() => BpfCollection.Load(BpfObjects.Read(BpfObjects.PinnedMaps)));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("PinRoot", error.Message);
    }

    [Fact]
    public void IncompatiblePinnedMapIsNotReplaced()
    {
        using var bpffs = new TestBpfFs();
        using (var squatter = BpfMap.Create(new MapSpec { Name = "pinned_hits", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 }))
            squatter.Pin(bpffs["pinned_hits"]);

        var error = Assert.Throws<BpfException>(() => BpfCollection.Load(BpfObjects.Read(BpfObjects.PinnedMaps), new CollectionOptions { PinRoot = bpffs.Path }));

        Assert.Equal(BpfErrorReason.Incompatible, error.Reason);
        Assert.Contains("value size 4, want 8", error.Message);
        using var pinned = BpfMap.OpenPinned(bpffs["pinned_hits"]);
        Assert.Equal(4u, pinned.Info.ValueSize);
    }

    [Fact]
    public void UnknownProgramNameIsRefusedBeforeAnythingIsCreated()
    {
        var error = Assert.Throws<BpfException>(() =>
            BpfCollection.Load(BpfObjects.Read(BpfObjects.Suite), new CollectionOptions { ProgramNames = ["no_such_program"] }));

        Assert.Equal(BpfErrorReason.NotFound, error.Reason);
        Assert.Contains("no_such_program", error.Message);
    }
}
