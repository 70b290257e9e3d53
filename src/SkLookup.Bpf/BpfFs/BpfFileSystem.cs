using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>The BPF file system (bpffs), where maps, programs and links are pinned.</summary>
public static class BpfFileSystem
{
    /// <summary>BPF_FS_MAGIC, what <c>statfs</c> reports for bpffs.</summary>
    public const long Magic = 0xcafe4a11;

    /// <summary>The usual mount point.</summary>
    public const string DefaultPath = "/sys/fs/bpf";

    /// <summary>True if <paramref name="path"/> exists and is on bpffs.</summary>
    public static bool IsBpfFs(string path) => LibC.Statfs(path, out var stat) == 0 && stat.Type == Magic;

    /// <summary>Throws a clear error unless <paramref name="path"/> is a directory on bpffs.</summary>
    public static void EnsureBpfFs(string path)
    {
        if (!Directory.Exists(path))
            throw new BpfException($"{path} does not exist: mount bpffs there (mount -t bpf bpf {path}) or pass another path", Errno.ENOENT, BpfErrorReason.NotFound);
        if (!IsBpfFs(path))
            throw new BpfException($"{path} is not on bpffs: mount it (mount -t bpf bpf {path}) or pass a path that is", Errno.EINVAL, BpfErrorReason.InvalidArgument);
    }

    /// <summary>
    /// Renames <paramref name="from"/> to <paramref name="to"/> in one step (<c>rename(2)</c>), replacing a pin
    /// that is there: the object pinned at <paramref name="to"/> loses that reference. It renames a directory
    /// of pins as well, onto a path that does not exist yet, which makes a state built on the side appear whole.
    /// </summary>
    public static void Rename(string from, string to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        KillPoints.Step("rename", $"{Path.GetFileName(from)} to {Path.GetFileName(to)}"); // Renames are rare: the words may cost.
        if (LibC.Rename(from, to) != 0)
            throw Errno.Last($"rename {from} to {to}");
    }

    /// <summary>
    /// Unpins <paramref name="path"/> (<c>unlink(2)</c>): the object loses that reference, and goes when it has
    /// no other. Fine if nothing is pinned there.
    /// </summary>
    public static void Unpin(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        KillPoints.Step("unlink", path);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Removes the empty directory <paramref name="path"/> (<c>rmdir(2)</c>); an <see cref="IOException"/> if it is not empty.</summary>
    public static void RemoveEmptyDirectory(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        KillPoints.Step("rmdir", path);
        Directory.Delete(path);
    }

    /// <summary>
    /// Gives <paramref name="path"/> (a pin or a directory, never followed if it is a symlink) to group
    /// <paramref name="gid"/> and sets <paramref name="mode"/>: the kernel checks these when a pin is opened.
    /// </summary>
    public static void SetGroupAndMode(string path, uint gid, UnixFileMode mode)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (LibC.FchownAt(LibC.AT_FDCWD, path, uint.MaxValue, gid, LibC.AT_SYMLINK_NOFOLLOW) != 0)
            throw Errno.Last($"chgrp {gid} {path}");
        File.SetUnixFileMode(path, mode);
    }

    /// <summary>The group of <paramref name="path"/> (not followed if it is a symlink), which needs no access to the file itself.</summary>
    public static unsafe uint GroupOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        LibC.StatX stat;
        if (LibC.Statx(LibC.AT_FDCWD, path, LibC.AT_SYMLINK_NOFOLLOW, LibC.STATX_GID, &stat) != 0)
            throw Errno.Last($"stat {path}");
        return stat.Gid;
    }

    /// <summary>Mounts a new bpffs instance at <paramref name="path"/>, creating the directory if needed.</summary>
    public static void Mount(string path)
    {
        Directory.CreateDirectory(path);
        if (LibC.Mount("bpf", path, "bpf", 0, 0) != 0)
            throw Errno.Last($"mount bpffs at {path}");
    }

    /// <summary>Unmounts the bpffs instance at <paramref name="path"/> (lazily, so open files do not block it).</summary>
    public static void Unmount(string path)
    {
        if (LibC.Umount2(path, LibC.MNT_DETACH) != 0)
            throw Errno.Last($"unmount {path}");
    }
}
