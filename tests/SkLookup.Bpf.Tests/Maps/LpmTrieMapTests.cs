namespace SkLookup.Bpf.Tests;

/// <summary>LPM tries: the longest matching prefix wins, NoPrealloc is required, and keys can be walked and batched.</summary>
public sealed class LpmTrieMapTests
{
    private static readonly MapSpec s_prefixes = new()
    {
        Name = "prefixes",
        Type = MapType.LpmTrie,
        KeySize = 8,
        ValueSize = 4,
        MaxEntries = 64,
        Flags = MapFlags.NoPrealloc,
    };

    [Fact]
    public void LookupFindsTheLongestMatchingPrefix()
    {
        using var map = BpfMap.Create(s_prefixes);
        map.Update(LpmV4Key.Of("192.0.2.0", 24), 24u);
        map.Update(LpmV4Key.Of("192.0.2.128", 25), 25u);

        Assert.True(map.TryLookup(LpmV4Key.Of("192.0.2.200", 32), out uint inUpperHalf));
        Assert.True(map.TryLookup(LpmV4Key.Of("192.0.2.7", 32), out uint inLowerHalf));
        Assert.False(map.TryLookup(LpmV4Key.Of("198.51.100.1", 32), out uint _));
        Assert.Equal(25u, inUpperHalf);
        Assert.Equal(24u, inLowerHalf);
    }

    [Fact]
    public void MissingNoPreallocIsAClearInvalidArgument()
    {
        var error = Assert.Throws<BpfException>(() => BpfMap.Create(s_prefixes with { Flags = MapFlags.None }));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.Contains("NoPrealloc", error.Message);
        Assert.Contains("prefixes", error.Message);
    }

    [Fact]
    public void KeyWithoutDataIsAClearInvalidArgument()
    {
        var error = Assert.Throws<BpfException>(() => BpfMap.Create(s_prefixes with { KeySize = 4 }));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("prefix length followed by 1 to 256 bytes", error.Message);
    }

    [Fact]
    public void KeysCanBeWalkedAndDeleted()
    {
        using var map = BpfMap.Create(s_prefixes);
        map.Update(LpmV4Key.Of("192.0.2.0", 24), 1u);
        map.Update(LpmV4Key.Of("198.51.100.0", 24), 2u);
        map.Update(LpmV4Key.Of("203.0.113.0", 24), 3u);

        var walked = 0;
        foreach (var key in map.Keys())
        {
            Assert.True(map.Delete(key)); // Deleting the current key must not break the walk.
            walked++;
        }

        Assert.Equal(3, walked);
        Assert.Empty(map.Keys());
        Assert.False(map.Delete(LpmV4Key.Of("192.0.2.0", 24)));
    }

    [Fact]
    public void BatchOperationsWorkOnTries()
    {
        using var map = BpfMap.Create(s_prefixes);
        string[] networks = ["192.0.2.0", "198.51.100.0", "203.0.113.0"];
        var keys = Keys.Concat(networks.Length, i => ToBytes(LpmV4Key.Of(networks[i], 24)));
        var values = Keys.Concat(networks.Length, i => Keys.U32((uint)i + 10));

        Assert.Equal(3, map.UpdateBatch(keys, values));
        var all = map.LookupAll();
        Assert.Equal(3, all.Count);
        Assert.Equal([10u, 11u, 12u], all.Select(entry => Keys.ReadU32(entry.Value)).Order());
        Assert.Equal(3, map.DeleteBatch(keys));
        Assert.Empty(map.LookupAll());
    }

    private static byte[] ToBytes(LpmV4Key key) =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<LpmV4Key>(in key)).ToArray();
}
