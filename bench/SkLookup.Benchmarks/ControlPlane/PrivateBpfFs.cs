using SkLookup.Bpf;

namespace SkLookup.Benchmarks.ControlPlane;

/// <summary>
/// A fresh bpffs instance of the benchmark's own, mounted on a new temporary directory (never /sys/fs/bpf),
/// so that the dispatcher's pins live and die with the benchmark; unmounted and removed on dispose.
/// </summary>
internal sealed class PrivateBpfFs : IDisposable
{
    private PrivateBpfFs(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a new instance.</summary>
    public static PrivateBpfFs Mount()
    {
        var path = Directory.CreateTempSubdirectory("sklookup-bench-bpffs-").FullName;
        try
        {
            BpfFileSystem.Mount(path);
            return new PrivateBpfFs(path);
        }
        catch
        {
            Directory.Delete(path);
            throw;
        }
    }

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
