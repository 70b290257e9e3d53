using SkLookup.Bpf;

namespace SkLookup.State;

/// <summary>File operations on a state directory: pinning with the right modes, and removal that copes with damage.</summary>
internal static class StateDirectory
{
    /// <summary>
    /// Creates the <c>sklookup/</c> root at <paramref name="path"/> with <see cref="StatePaths.RootMode"/> (whatever the
    /// umask), if it is missing; one that exists must be ours (see <see cref="CheckOurs"/>).
    /// </summary>
    public static void CreateRoot(string path)
    {
        if (Directory.Exists(path) || File.Exists(path))
        {
            CheckOurs(path);
            return;
        }
        Directory.CreateDirectory(path);
        BpfFileSystem.SetGroupAndMode(path, 0, StatePaths.RootMode);
        CheckOurs(path);
    }

    /// <summary>
    /// Creates the new directory <paramref name="name"/> in <paramref name="parent"/> (a directory checked as ours),
    /// failing if anything of that name exists: a staging directory that someone else pre-created (or planted as a
    /// symlink) is never used.
    /// </summary>
    public static void CreateNew(string parent, string name, uint gid)
    {
        CheckOurs(parent);
        using var directory = SafeDirectory.OpenRoot(parent);
        if (!directory.TryCreateChild(name, (int)StatePaths.DirectoryMode))
            throw new SteeringException(SteeringError.DamagedState,
                $"{Path.Combine(parent, name)} exists already, and sklookup did not make it: remove it, and mount bpffs with mode=0755 so that no one else can create names there");
        BpfFileSystem.SetGroupAndMode(Path.Combine(parent, name), gid, StatePaths.DirectoryMode);
    }

    /// <summary>The group of the state directory <paramref name="path"/>: the group its pins are given.</summary>
    public static uint GroupOf(string path)
    {
        using var directory = SafeDirectory.OpenRoot(path);
        return directory.Owner().Gid;
    }

    /// <summary>
    /// Gives every pin in the state directory <paramref name="path"/> the directory's group and its
    /// <see cref="StatePaths.PinMode"/>: an upgrade does this for state that an older version pinned with other modes.
    /// </summary>
    public static void ApplyModes(string path)
    {
        var gid = GroupOf(path);
        foreach (var file in Directory.EnumerateFiles(path))
            BpfFileSystem.SetGroupAndMode(file, gid, StatePaths.PinMode(Path.GetFileName(file)));
    }

    /// <summary>
    /// Refuses (with <see cref="SteeringError.PermissionDenied"/> and one line that says what to fix) a state
    /// path that is a symbolic link, or a directory that is not root's or ours, or that others may write to.
    /// On a bpffs mounted without <c>mode=</c> (1777), anyone can create names, so a name alone proves nothing.
    /// </summary>
    public static void CheckOurs(string path)
    {
        if (Untrusted(path) is { } reason)
            throw new SteeringException(SteeringError.PermissionDenied, reason);
    }

    /// <summary>Why <paramref name="path"/> must not be trusted as a state directory, or null if it may be.</summary>
    public static string? Untrusted(string path)
    {
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is { } target)
            return $"{path} is a symbolic link (to {TextEscape.Escape(target)}), which sklookup never makes or follows: remove the link ('rm {path}'), and mount bpffs with mode=0755";
        if (!info.Exists)
            return File.Exists(path) ? $"{path} is not a directory: remove it" : null;
        try
        {
            using var directory = SafeDirectory.OpenRoot(path);
            return directory.Distrust();
        }
        catch (BpfException exception)
        {
            return $"{path} cannot be checked: {exception.Message}";
        }
    }

    /// <summary>Pins <paramref name="map"/> at <paramref name="path"/> with its <see cref="StatePaths.PinMode"/>, in the directory's group.</summary>
    public static void Pin(BpfMap map, string path)
    {
        map.Pin(path);
        SetAccess(path);
    }

    /// <inheritdoc cref="Pin(BpfMap, string)"/>
    public static void Pin(BpfProgram program, string path)
    {
        program.Pin(path);
        SetAccess(path);
    }

    /// <inheritdoc cref="Pin(BpfMap, string)"/>
    public static void Pin(NetNsLink link, string path)
    {
        link.Pin(path);
        SetAccess(path);
    }

    private static void SetAccess(string pin) =>
        BpfFileSystem.SetGroupAndMode(pin, GroupOf(Path.GetDirectoryName(pin)!), StatePaths.PinMode(Path.GetFileName(pin)));

    /// <summary>
    /// Removes a state directory and everything in it, however incomplete: it detaches every pinned link
    /// first (a pin is not the only reference a link may have, and unload must stop the steering), then
    /// unpins everything. Missing files are fine; a missing directory is fine.
    /// </summary>
    public static void Remove(string path)
    {
        if (new FileInfo(path).LinkTarget is not null)
        {
            // A symlink planted in place of a state directory: remove the link, never what it points to.
            DeleteIfPresent(path);
            return;
        }
        if (!Directory.Exists(path))
            return;
        // Never delete recursively outside a directory verified as ours: a foreign one stays, with one line.
        CheckOurs(path);
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
            BpfFileSystem.RemoveEmptyDirectory(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>
    /// Removes the state directory <paramref name="path"/> so that a crash at any step leaves something the next
    /// load or unload handles: the links are detached first (the steering stops), then the directory is renamed to
    /// <paramref name="tempPath"/> (a <see cref="StatePaths.TempPrefix"/> name, which load and unload remove as a
    /// leftover), and only then are its pins removed. Never a state directory half emptied under its own name.
    /// </summary>
    public static void Retire(string path, string tempPath)
    {
        if (new FileInfo(path).LinkTarget is not null || !Directory.Exists(path))
        {
            Remove(path);
            return;
        }
        CheckOurs(path);
        foreach (var file in Directory.EnumerateFiles(path))
        {
            var name = Path.GetFileName(file);
            if (name == StatePaths.Link || name.StartsWith(StatePaths.Link + ".", StringComparison.Ordinal))
                TryDetach(file);
        }
        BpfFileSystem.Rename(path, tempPath);
        Remove(tempPath);
    }

    /// <summary>
    /// Removes <paramref name="path"/> if it is an empty directory of ours, so that an unload leaves the bpffs as
    /// it found it; a directory that still holds another namespace's state (or anything else) stays.
    /// </summary>
    public static void RemoveIfEmpty(string path)
    {
        if (new FileInfo(path).LinkTarget is not null || !Directory.Exists(path) || Directory.EnumerateFileSystemEntries(path).Any())
            return;
        CheckOurs(path);
        try
        {
            BpfFileSystem.RemoveEmptyDirectory(path); // Fails rather than deletes if an entry appeared meanwhile.
        }
        catch (IOException)
        {
            // Not empty after all, or gone already.
        }
    }

    /// <summary>Deletes (unpins) a file; fine if it is already gone.</summary>
    public static void DeleteIfPresent(string path) => BpfFileSystem.Unpin(path);

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
