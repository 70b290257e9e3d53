using SkLookup.Bpf;

namespace SkLookup.TestKit;

/// <summary>A fresh, private bpffs instance mounted on a temporary directory, unmounted and removed on dispose.</summary>
public sealed class TestBpfFs : IDisposable
{
    /// <summary>Mounts the instance.</summary>
    public TestBpfFs()
    {
        Path = Directory.CreateTempSubdirectory("sklookup-bpffs-").FullName;
        try
        {
            BpfFileSystem.Mount(Path);
        }
        catch
        {
            Directory.Delete(Path);
            throw;
        }
    }

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>A path below the mount point.</summary>
    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    /// <summary>The entries a test created, without the kernel's preloaded iterators.</summary>
    public IEnumerable<string> UserEntries() => Directory.EnumerateFileSystemEntries(Path)
        .Select(System.IO.Path.GetFileName)
        .Where(name => name is not ("maps.debug" or "progs.debug"))!;

    /// <summary>Unmounts and removes the directory.</summary>
    public void Dispose()
    {
        try
        {
            BpfFileSystem.Unmount(Path);
        }
        finally
        {
            Directory.Delete(Path);
        }
    }
}
