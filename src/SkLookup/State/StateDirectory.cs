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

    /// <summary>
    /// Finishes or discards a swap that a crashed writer left half-done. Staged pins (<c>*-new</c>) are
    /// renamed into place if the staged program is the one the link runs (the swap happened), and
    /// deleted otherwise (it never did).
    /// </summary>
    public static void RecoverStaged(string path, uint attachedProgramId)
    {
        var staged = Directory.EnumerateFiles(path, "*" + StatePaths.StagedSuffix).ToList();
        if (staged.Count == 0)
            return;
        var stagedProgram = Path.Combine(path, StatePaths.Program + StatePaths.StagedSuffix);
        var swapped = false;
        if (File.Exists(stagedProgram))
        {
            try
            {
                using var program = BpfProgram.OpenPinned(stagedProgram);
                swapped = program.Info.Id == attachedProgramId;
            }
            catch (BpfException)
            {
            }
        }
        // The program goes last, as in a swap, so that a crash during recovery can be recovered again.
        staged.Sort((a, b) => (a == stagedProgram).CompareTo(b == stagedProgram));
        foreach (var file in staged)
        {
            if (swapped)
                BpfFileSystem.Rename(file, file[..^StatePaths.StagedSuffix.Length]);
            else
                DeleteIfPresent(file);
        }
    }
}
