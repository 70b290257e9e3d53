using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests;

/// <summary>Creating maps with names and flags, pinning them, reopening them, and refusing maps of another shape.</summary>
public sealed class MapPinningTests
{
    private static readonly MapSpec s_bindings = new()
    {
        Name = "bindings",
        Type = MapType.Hash,
        KeySize = 4,
        ValueSize = 8,
        MaxEntries = 32,
        Flags = MapFlags.NoPrealloc,
    };

    [Fact]
    public void CreatedMapCarriesItsNameAndFlags()
    {
        using var map = BpfMap.Create(s_bindings with { Name = "a-very-long-map-name" });

        Assert.Equal("averylongmapnam", map.Info.Name); // The kernel keeps 15 of the characters it accepts.
        Assert.Equal((uint)MapFlags.NoPrealloc, map.Info.Flags);
        Assert.Equal(MapType.Hash, map.Type);
        Assert.NotEqual(0u, map.Info.Id);
    }

    [Fact]
    public void PinnedMapSurvivesClosingItsFileDescriptor()
    {
        using var bpffs = new TestBpfFs();
        uint id;
        using (var map = BpfMap.Create(s_bindings))
        {
            map.Update(Keys.U32(1), Keys.U64(11));
            map.Pin(bpffs["bindings"]);
            id = map.Info.Id;
        }

        using var reopened = BpfMap.OpenPinned(bpffs["bindings"]);

        Assert.Equal(id, reopened.Info.Id);
        Assert.Equal(11ul, Keys.ReadU64(reopened.Lookup(Keys.U32(1))));
        Assert.Equal(["bindings"], bpffs.UserEntries());
    }

    [Fact]
    public void OpenByIdFindsTheSameMap()
    {
        using var map = BpfMap.Create(s_bindings);
        map.Update(Keys.U32(2), Keys.U64(22));

        using var byId = BpfMap.OpenById(map.Info.Id);

        Assert.Equal(map.Info with { MemlockBytes = 0 }, byId.Info with { MemlockBytes = 0 });
        Assert.Equal(22ul, Keys.ReadU64(byId.Lookup(Keys.U32(2))));
    }

    [Fact]
    public void OpenPinnedOnAMissingPathIsNotFound()
    {
        using var bpffs = new TestBpfFs();

        var error = Assert.Throws<BpfException>(() => BpfMap.OpenPinned(bpffs["missing"]));

        Assert.Equal(BpfErrorReason.NotFound, error.Reason);
        Assert.Contains(bpffs["missing"], error.Message);
    }

    [Fact]
    public void OpenOrCreatePinnedCreatesOnceThenReopens()
    {
        using var bpffs = new TestBpfFs();

        using var created = BpfMap.OpenOrCreatePinned(bpffs["bindings"], s_bindings);
        created.Update(Keys.U32(3), Keys.U64(33));
        using var reopened = BpfMap.OpenOrCreatePinned(bpffs["bindings"], s_bindings);

        Assert.Equal(created.Info.Id, reopened.Info.Id);
        Assert.Equal(33ul, Keys.ReadU64(reopened.Lookup(Keys.U32(3))));
    }

    public static TheoryData<string, MapSpec> OtherShapes() => new()
    {
        { "type", s_bindings with { Type = MapType.LpmTrie, KeySize = 8 } },
        { "key size", s_bindings with { KeySize = 8 } },
        { "value size", s_bindings with { ValueSize = 16 } },
        { "max entries", s_bindings with { MaxEntries = 64 } },
        { "flags", s_bindings with { Flags = MapFlags.None } },
    };

    [Theory]
    [MemberData(nameof(OtherShapes))]
    public void DifferentlyShapedPinnedMapIsIncompatible(string difference, MapSpec wanted)
    {
        using var bpffs = new TestBpfFs();
        using (var map = BpfMap.Create(s_bindings))
            map.Pin(bpffs["bindings"]);
        using var pinned = BpfMap.OpenPinned(bpffs["bindings"]);

        var checkError = Assert.Throws<BpfException>(() => pinned.CheckCompatible(wanted));
        var openError = Assert.Throws<BpfException>(() => BpfMap.OpenOrCreatePinned(bpffs["bindings"], wanted));

        Assert.Equal(BpfErrorReason.Incompatible, checkError.Reason);
        Assert.Equal(BpfErrorReason.Incompatible, openError.Reason);
        Assert.Contains(difference, checkError.Message);
        pinned.CheckCompatible(s_bindings);
    }

    [Fact]
    public void InfoReportsTheShapeAndTheMemoryCharged()
    {
        using var hash = BpfMap.Create(s_bindings with { Flags = MapFlags.None });
        using var trie = BpfMap.Create(new MapSpec { Name = "trie", Type = MapType.LpmTrie, KeySize = 8, ValueSize = 4, MaxEntries = 1024, Flags = MapFlags.NoPrealloc });
        var emptyTrie = trie.Info.MemlockBytes;
        for (var i = 0; i < 200; i++)
            trie.Update(LpmV4Key.Of($"10.0.{i}.0", 24), (uint)i);

        var info = hash.RefreshInfo();

        Assert.Equal((MapType.Hash, 4u, 8u, 32u, 0u), (info.Type, info.KeySize, info.ValueSize, info.MaxEntries, info.Flags));
        Assert.True(info.MemlockBytes > 0, "a preallocated hash map is charged memory");
        Assert.Equal(info.MemlockBytes, MapInfo.ReadMemlock(hash.Handle));
        // Since 6.4 the kernel reports what a map really uses (map_mem_usage); before, the charge fixed at creation.
        if (SkLookup.Bpf.Features.KernelVersion.Current >= new Version(6, 4))
            Assert.True(trie.RefreshInfo().MemlockBytes > emptyTrie, "a trie is charged for the entries it allocates");
        else
            Assert.True(emptyTrie > 0 && trie.RefreshInfo().MemlockBytes == emptyTrie, "before 6.4 a trie's charge is fixed when it is created");
    }
}
