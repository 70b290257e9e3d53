using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests;

/// <summary>Recognising bpffs, the errors that say how to fix a wrong path, and mounting a private instance.</summary>
public sealed class BpfFileSystemTests
{
    [Fact]
    public void PrivateMountIsBpfFsAndOrdinaryDirectoriesAreNot()
    {
        using var bpffs = new TestBpfFs();
        using var plain = new TemporaryDirectory();

        Assert.True(BpfFileSystem.IsBpfFs(bpffs.Path));
        Assert.False(BpfFileSystem.IsBpfFs(plain.Path));
        Assert.False(BpfFileSystem.IsBpfFs(Path.Combine(plain.Path, "missing")));
        BpfFileSystem.EnsureBpfFs(bpffs.Path);
    }

    [Fact]
    public void EnsureBpfFsOnAMissingDirectorySaysHowToMountIt()
    {
        using var plain = new TemporaryDirectory();
        var missing = Path.Combine(plain.Path, "missing");

        var error = Assert.Throws<BpfException>(() => BpfFileSystem.EnsureBpfFs(missing));

        Assert.Equal(BpfErrorReason.NotFound, error.Reason);
        Assert.Contains($"{missing} does not exist", error.Message);
        Assert.Contains($"mount -t bpf bpf {missing}", error.Message);
    }

    [Fact]
    public void EnsureBpfFsOnAnotherFileSystemSaysHowToMountIt()
    {
        using var plain = new TemporaryDirectory();

        var error = Assert.Throws<BpfException>(() => BpfFileSystem.EnsureBpfFs(plain.Path));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains($"{plain.Path} is not on bpffs", error.Message);
        Assert.Contains($"mount -t bpf bpf {plain.Path}", error.Message);
    }

    [Fact]
    public void MountAndUnmountAPrivateInstance()
    {
        using var plain = new TemporaryDirectory();
        var mountPoint = Path.Combine(plain.Path, "bpffs"); // Mount creates the directory.

        BpfFileSystem.Mount(mountPoint);
        try
        {
            Assert.True(BpfFileSystem.IsBpfFs(mountPoint));
            using var map = BpfMap.Create(new MapSpec { Name = "pinned", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
            map.Pin(Path.Combine(mountPoint, "pinned"));
            Assert.True(File.Exists(Path.Combine(mountPoint, "pinned")));
        }
        finally
        {
            BpfFileSystem.Unmount(mountPoint);
        }

        Assert.False(BpfFileSystem.IsBpfFs(mountPoint));
        Assert.Empty(Directory.EnumerateFileSystemEntries(mountPoint));
    }

    [Fact]
    public void EachMountIsAFreshInstance()
    {
        using var first = new TestBpfFs();
        using var second = new TestBpfFs();
        using var map = BpfMap.Create(new MapSpec { Name = "only_here", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });

        map.Pin(first["only_here"]);

        Assert.Equal(["only_here"], first.UserEntries());
        Assert.Empty(second.UserEntries());
    }

    [Fact]
    public void UnmountingWhatIsNotMountedFails()
    {
        using var plain = new TemporaryDirectory();

        var error = Assert.Throws<BpfException>(() => BpfFileSystem.Unmount(plain.Path));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains(plain.Path, error.Message);
    }

    /// <summary>An ordinary temporary directory, removed on dispose.</summary>
    private sealed class TemporaryDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("sklookup-plain-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
