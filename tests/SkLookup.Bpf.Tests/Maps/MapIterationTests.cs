namespace SkLookup.Bpf.Tests;

/// <summary>Walking keys and entries, also while entries are deleted, and the batch operations with their fallbacks.</summary>
public sealed class MapIterationTests
{
    private static BpfMap HashWith(int entries, uint maxEntries = 2048)
    {
        var map = BpfMap.Create(new MapSpec { Name = "walk", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = maxEntries });
        for (var i = 0; i < entries; i++)
            map.Update(Keys.U32((uint)i), Keys.U64((ulong)i * 10));
        return map;
    }

    [Fact]
    public void KeysAndEntriesReturnEveryEntryOnce()
    {
        using var map = HashWith(100);

        var keys = map.Keys().Select(key => Keys.ReadU32(key)).ToList();
        var entries = map.Entries().ToDictionary(entry => Keys.ReadU32(entry.Key), entry => Keys.ReadU64(entry.Value));

        Assert.Equal(Enumerable.Range(0, 100).Select(i => (uint)i), keys.Order());
        Assert.Equal(100, entries.Count);
        Assert.All(entries, entry => Assert.Equal(entry.Key * 10ul, entry.Value));
    }

    [Fact]
    public void DeletingEachKeyWhileWalkingVisitsEveryKeyOnce()
    {
        using var map = HashWith(100);

        var visited = new List<uint>();
        foreach (var key in map.Keys())
        {
            visited.Add(Keys.ReadU32(key));
            Assert.True(map.Delete(key));
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => (uint)i), visited.Order());
        Assert.Empty(map.Keys());
    }

    [Fact]
    public void EntriesDeletedWhileWalkingAreNotReturned()
    {
        using var map = HashWith(50);

        var returned = new List<uint>();
        foreach (var entry in map.Entries())
        {
            var key = Keys.ReadU32(entry.Key);
            returned.Add(key);
            // Delete the current entry and the odd-numbered ones that have not come up yet.
            map.Delete(entry.Key);
            for (var other = key | 1; other < 50; other += 2)
                if (!returned.Contains(other))
                    map.Delete(Keys.U32(other));
        }

        Assert.Equal(returned.Count, returned.Distinct().Count());
        Assert.Empty(map.Keys());
        Assert.True(returned.Count < 50, "the deleted odd keys must not come back");
    }

    [Fact]
    public void EmptyMapWalksNothing()
    {
        using var map = HashWith(0);

        Assert.Empty(map.Keys());
        Assert.Empty(map.Entries());
        Assert.Empty(map.LookupAll());
    }

    [Fact]
    public void BatchUpdateAndLookupMoveManyEntries()
    {
        using var map = HashWith(0);
        const int count = 1000;
        var keys = Keys.Concat(count, i => Keys.U32((uint)i));
        var values = Keys.Concat(count, i => Keys.U64((ulong)i * 3));

        Assert.Equal(count, map.UpdateBatch(keys, values));
        var all = map.LookupAll();

        Assert.Equal(count, all.Count);
        Assert.All(all, entry => Assert.Equal(Keys.ReadU32(entry.Key) * 3ul, Keys.ReadU64(entry.Value)));
        Assert.Equal(count, all.Select(entry => Keys.ReadU32(entry.Key)).Distinct().Count());
    }

    [Fact]
    public void LookupBatchesHandsOverEveryEntryInReusedBuffers()
    {
        using var map = HashWith(0);
        const int count = 1000;
        map.UpdateBatch(Keys.Concat(count, i => Keys.U32((uint)i)), Keys.Concat(count, i => Keys.U64((ulong)i * 3)));
        var seen = new Dictionary<uint, ulong>();
        var batches = 0;

        var supported = map.TryLookupBatches((keys, values, n) =>
        {
            batches++;
            Assert.Equal(n * map.KeySize, keys.Length);
            Assert.Equal(n * map.ValueSize, values.Length);
            for (var i = 0; i < n; i++)
                seen.Add(Keys.ReadU32(keys.Slice(i * 4, 4)), Keys.ReadU64(values.Slice(i * 8, 8)));
        }, batchEntries: 64);

        Assert.True(supported);
        Assert.True(batches > 1, "a batch of 64 entries cannot hold 1000");
        Assert.Equal(count, seen.Count);
        Assert.All(seen, entry => Assert.Equal(entry.Key * 3ul, entry.Value));
    }

    [Fact]
    public void LookupBatchesSaysWhenAMapTypeHasNone()
    {
        using var map = BpfMap.Create(new MapSpec { Name = "socks", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        Assert.False(map.TryLookupBatches((_, _, _) => Assert.Fail("no batch expected")));
    }

    [Fact]
    public void BatchUpdateHonoursNoExist()
    {
        using var map = HashWith(1);

        var error = Assert.Throws<BpfException>(() => map.UpdateBatch(Keys.Concat(2, i => Keys.U32((uint)i)), Keys.Concat(2, i => Keys.U64(7)), MapUpdateFlags.NoExist));

        Assert.Equal(BpfErrorReason.AlreadyExists, error.Reason);
    }

    [Fact]
    public void BatchDeleteSkipsMissingKeys()
    {
        using var map = HashWith(20);
        // Keys 0..9 exist, 100..104 do not, and they are interleaved.
        var keys = Keys.Concat(15, i => Keys.U32(i % 3 == 2 ? (uint)(100 + i / 3) : (uint)(i - i / 3)));

        var deleted = map.DeleteBatch(keys);

        Assert.Equal(10, deleted);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => (uint)i), map.Keys().Select(key => Keys.ReadU32(key)).Order());
    }

    [Fact]
    public void BatchLookupReadsEveryArraySlot()
    {
        using var map = BpfMap.Create(new MapSpec { Name = "slots", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 300 });
        map.Update(Keys.U32(299), Keys.U64(5));

        var all = map.LookupAll();

        Assert.Equal(300, all.Count);
        Assert.Equal(5ul, Keys.ReadU64(all.Single(entry => Keys.ReadU32(entry.Key) == 299).Value));
    }

    [Fact]
    public void BatchOfMismatchedLengthsIsRefused()
    {
        using var map = HashWith(0);

        Assert.Throws<ArgumentException>(() => map.UpdateBatch(new byte[8], new byte[8]));
        Assert.Throws<ArgumentException>(() => map.DeleteBatch(new byte[6]));
    }
}
