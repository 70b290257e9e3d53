using System.Runtime.InteropServices;

namespace SkLookup.Bpf.Tests;

/// <summary>Element operations on HASH and ARRAY maps: update flags, lookups, deletes, typed access.</summary>
public sealed class MapElementTests
{
    private static MapSpec Hash(uint maxEntries = 16) =>
        new() { Name = "hash", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = maxEntries };

    [Fact]
    public void UpdateAnyCreatesAndReplaces()
    {
        using var map = BpfMap.Create(Hash());

        map.Update(Keys.U32(1), Keys.U64(100));
        map.Update(Keys.U32(1), Keys.U64(200), MapUpdateFlags.Any);

        Assert.Equal(200ul, Keys.ReadU64(map.Lookup(Keys.U32(1))));
    }

    [Fact]
    public void UpdateNoExistRefusesAnExistingKey()
    {
        using var map = BpfMap.Create(Hash());
        map.Update(Keys.U32(1), Keys.U64(100), MapUpdateFlags.NoExist);

        var error = Assert.Throws<BpfException>(() => map.Update(Keys.U32(1), Keys.U64(200), MapUpdateFlags.NoExist));

        Assert.Equal(Errno.EEXIST, error.Errno);
        Assert.Equal(BpfErrorReason.AlreadyExists, error.Reason);
        Assert.Equal(100ul, Keys.ReadU64(map.Lookup(Keys.U32(1))));
    }

    [Fact]
    public void UpdateExistRefusesAMissingKey()
    {
        using var map = BpfMap.Create(Hash());

        var error = Assert.Throws<BpfException>(() => map.Update(Keys.U32(1), Keys.U64(100), MapUpdateFlags.Exist));

        Assert.Equal(Errno.ENOENT, error.Errno);
        Assert.Equal(BpfErrorReason.NotFound, error.Reason);
        map.Update(Keys.U32(1), Keys.U64(100));
        map.Update(Keys.U32(1), Keys.U64(300), MapUpdateFlags.Exist);
        Assert.Equal(300ul, Keys.ReadU64(map.Lookup(Keys.U32(1))));
    }

    [Fact]
    public void DeleteTellsWhetherTheKeyWasThere()
    {
        using var map = BpfMap.Create(Hash());
        map.Update(Keys.U32(7), Keys.U64(1));

        Assert.True(map.Delete(Keys.U32(7)));
        Assert.False(map.Delete(Keys.U32(7)));
        Assert.Null(map.Lookup(Keys.U32(7)));
    }

    [Fact]
    public void FullHashMapSaysSo()
    {
        using var map = BpfMap.Create(Hash(maxEntries: 2));
        map.Update(Keys.U32(1), Keys.U64(1));
        map.Update(Keys.U32(2), Keys.U64(2));

        var error = Assert.Throws<BpfException>(() => map.Update(Keys.U32(3), Keys.U64(3)));

        Assert.Equal(BpfErrorReason.TooBig, error.Reason);
        Assert.Contains("full", error.Message);
    }

    [Fact]
    public void ArrayHoldsZeroedSlotsThatCannotBeDeleted()
    {
        using var map = BpfMap.Create(new MapSpec { Name = "array", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        map.Update(Keys.U32(2), Keys.U64(42));

        Assert.Equal(0ul, Keys.ReadU64(map.Lookup(Keys.U32(0))));
        Assert.Equal(42ul, Keys.ReadU64(map.Lookup(Keys.U32(2))));
        Assert.Null(map.Lookup(Keys.U32(4)));
        var error = Assert.Throws<BpfException>(() => map.Delete(Keys.U32(2)));
        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Equal(4, map.Keys().Count());
    }

    [Fact]
    public void TypedAccessUsesUnmanagedStructs()
    {
        using var map = BpfMap.Create(new MapSpec { Name = "flows", Type = MapType.Hash, KeySize = 8, ValueSize = 16, MaxEntries = 8 });
        var key = new FlowKey { Address = 0xc0000201, Port = 80, Protocol = 6 };

        map.Update(key, new FlowStats { Packets = 3, Bytes = 1500 });
        Assert.True(map.TryLookup(key, out FlowStats stats));
        Assert.False(map.TryLookup(key with { Port = 81 }, out FlowStats _));
        Assert.True(map.Delete(key));

        Assert.Equal(new FlowStats { Packets = 3, Bytes = 1500 }, stats);
    }

    [Fact]
    public void KeysAndValuesOfTheWrongSizeAreRefusedBeforeTheKernelSeesThem()
    {
        using var map = BpfMap.Create(Hash());

        Assert.Throws<ArgumentException>(() => map.Update(new byte[3], Keys.U64(1)));
        Assert.Throws<ArgumentException>(() => map.Update(Keys.U32(1), new byte[4]));
        Assert.Throws<ArgumentException>(() => map.Update(1u, 1u));
    }

    [Fact]
    public void FrozenMapRefusesWritesFromUserSpace()
    {
        using var map = BpfMap.Create(new MapSpec
        {
            Name = "config",
            Type = MapType.Array,
            KeySize = 4,
            ValueSize = 8,
            MaxEntries = 1,
            Contents = [new(Keys.U32(0), Keys.U64(9))],
            Freeze = true,
        });

        var error = Assert.Throws<BpfException>(() => map.Update(Keys.U32(0), Keys.U64(10)));

        Assert.Equal(Errno.EPERM, error.Errno);
        Assert.Contains("frozen", error.Message);
        Assert.Equal(9ul, Keys.ReadU64(map.Lookup(Keys.U32(0))));
    }

    [StructLayout(LayoutKind.Sequential)]
    private record struct FlowKey(uint Address, ushort Port, byte Protocol, byte Padding);

    [StructLayout(LayoutKind.Sequential)]
    private record struct FlowStats(ulong Packets, ulong Bytes);
}
