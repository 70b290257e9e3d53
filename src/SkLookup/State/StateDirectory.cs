using SkLookup.Bpf;

namespace SkLookup.State;

/// <summary>File operations on a state directory: pinning with the right modes, and removal that copes with damage.</summary>
internal static class StateDirectory
{
    /// <summary>Creates <paramref name="path"/> with <see cref="StatePaths.DirectoryMode"/> (whatever the umask), if it is missing.</summary>
    public static void Create(string path)
    {
        if (Directory.Exists(path))
            return;
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, StatePaths.DirectoryMode);
    }

    /// <summary>Pins <paramref name="map"/> at <paramref name="path"/> and sets <see cref="StatePaths.PinMode"/>.</summary>
    public static void Pin(BpfMap map, string path)
    {
        map.Pin(path);
        File.SetUnixFileMode(path, StatePaths.PinMode);
    }

    /// <summary>Pins <paramref name="program"/> at <paramref name="path"/> and sets <see cref="StatePaths.PinMode"/>.</summary>
    public static void Pin(BpfProgram program, string path)
    {
        program.Pin(path);
        File.SetUnixFileMode(path, StatePaths.PinMode);
    }

    /// <summary>Pins <paramref name="link"/> at <paramref name="path"/> and sets <see cref="StatePaths.PinMode"/>.</summary>
    public static void Pin(NetNsLink link, string path)
    {
        link.Pin(path);
        File.SetUnixFileMode(path, StatePaths.PinMode);
    }

    /// <summary>
    /// Removes a state directory and everything in it, however incomplete: it detaches every pinned link
    /// first (a pin is not the only reference a link may have, and unload must stop the steering), then
    /// unpins everything. Missing files are fine; a missing directory is fine.
    /// </summary>
    public static void Remove(string path)
    {
        if (!Directory.Exists(path))
            return;
        foreach (var file in Directory.EnumerateFiles(path))
        {
            var name = Path.GetFileName(file);
            if (name == StatePaths.Link || name.StartsWith(StatePaths.Link + ".", StringComparison.Ordinal))
                TryDetach(file);
        }
        foreach (var directory in Directory.EnumerateDirectories(path))
            Remove(directory);
        foreach (var file in Directory.EnumerateFiles(path))
            DeleteIfPresent(file);
        try
        {
            Directory.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Deletes (unpins) a file; fine if it is already gone.</summary>
    public static void DeleteIfPresent(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static void TryDetach(string linkPath)
    {
        try
        {
            using var link = NetNsLink.OpenPinned(linkPath);
            if (link.ReadInfo().NetNsInode != 0)
                link.Detach();
        }
        catch (BpfException)
        {
            // Not a link (damaged state), or detached already: unpinning is all that is left to do.
        }
    }
}
