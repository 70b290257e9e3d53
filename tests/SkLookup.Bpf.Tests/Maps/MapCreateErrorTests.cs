namespace SkLookup.Bpf.Tests;

/// <summary>A map the kernel refuses to create comes back as one clear line: what was asked, that it is invalid, and what to fix.</summary>
public sealed class MapCreateErrorTests
{
    public static TheoryData<MapType, uint, uint, uint, MapFlags, string> BadShapes() => new()
    {
        { MapType.Hash, 0, 8, 16, MapFlags.None, "key size must not be 0" },
        { MapType.Hash, 4, 0, 16, MapFlags.None, "value size must not be 0" },
        { MapType.Hash, 4, 8, 0, MapFlags.None, "max entries must not be 0" },
        { MapType.Array, 8, 8, 16, MapFlags.None, "key must be 4 bytes" },
        { MapType.PerCpuArray, 2, 8, 16, MapFlags.None, "key must be 4 bytes" },
        { MapType.SockMap, 4, 16, 16, MapFlags.None, "value must be 4 or 8 bytes" },
        { MapType.SockHash, 4, 2, 16, MapFlags.None, "value must be 4 or 8 bytes" },
        { MapType.ReuseportSockArray, 8, 8, 16, MapFlags.None, "key must be 4 bytes" },
        { MapType.LpmTrie, 8, 4, 16, MapFlags.None, "needs MapFlags.NoPrealloc" },
        { MapType.LpmTrie, 300, 4, 16, MapFlags.NoPrealloc, "1 to 256 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadShapes))]
    public void BadShapeIsInvalidArgumentWithAHint(MapType type, uint keySize, uint valueSize, uint maxEntries, MapFlags flags, string hint)
    {
        var spec = new MapSpec { Name = "bad", Type = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = maxEntries, Flags = flags };

        var error = Assert.Throws<BpfException>(() => BpfMap.Create(spec));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.StartsWith($"create map {type} 'bad'", error.Message);
        Assert.Contains(hint, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void MapTypeUnknownToUsStillGivesAnAnswer()
    {
        // Map type 1000 does not exist; the kernel refuses it and the message says which spec failed.
        var error = Assert.Throws<BpfException>(() => BpfMap.Create(new MapSpec { Name = "odd", Type = (MapType)1000, KeySize = 4, ValueSize = 4, MaxEntries = 1 }));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("'odd'", error.Message);
    }
}
