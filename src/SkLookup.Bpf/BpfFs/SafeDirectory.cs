using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// An open directory whose children are opened relative to it, one name at a time, never through a symlink:
/// <c>openat2</c> with RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH where the kernel has it (Linux 5.6), else
/// <c>openat</c> with O_NOFOLLOW. On a bpffs mounted without <c>mode=</c> (1777), anyone can create names
/// in the root, so a path that root's commands follow by name is a path an unprivileged user chose; a
/// directory opened this way, with its owner and mode checked, is not.
/// </summary>
public sealed class SafeDirectory : IDisposable
{
    private static bool s_noOpenat2;

    private SafeDirectory(FileDescriptor fd, string path)
    {
        Handle = fd;
        Path = path;
    }

    /// <summary>The open directory.</summary>
    public FileDescriptor Handle { get; }

    /// <summary>The path it was opened by, for messages.</summary>
    public string Path { get; }

    /// <summary>Opens <paramref name="path"/>, the trusted root (a bpffs mount the administrator named), as a directory.</summary>
    public static SafeDirectory OpenRoot(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_CLOEXEC | LibC.O_DIRECTORY_FLAG, 0);
        if (fd < 0)
            throw Errno.Last($"open {path}");
        return new SafeDirectory(new FileDescriptor(fd, ownsHandle: true), path);
    }

    /// <summary>
    /// Opens the child directory <paramref name="name"/> (one path component) without following a symlink;
    /// null if it does not exist. A symlink, or anything else that is not a directory, is a
    /// <see cref="BpfException"/> with <see cref="BpfErrorReason.PermissionDenied"/> that names it.
    /// </summary>
    public SafeDirectory? TryOpenChild(string name)
    {
        CheckName(name);
        var child = $"{Path.TrimEnd('/')}/{name}";
        var fd = OpenBeneath(name, LibC.O_RDONLY | LibC.O_CLOEXEC | LibC.O_DIRECTORY_FLAG | LibC.O_NOFOLLOW_FLAG);
        if (fd >= 0)
            return new SafeDirectory(new FileDescriptor(fd, ownsHandle: true), child);
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.ENOENT)
            return null;
        if (errno is 40 /* ELOOP */ or Errno.ENOTDIR or Errno.EXDEV)
            throw new BpfException($"{child} is a symbolic link or not a directory: state directories are never followed through links; remove it (it was not made by sklookup)", Errno.EPERM, BpfErrorReason.PermissionDenied);
        throw Errno.ToException($"open {child}", errno);
    }

    /// <summary>Creates the child directory <paramref name="name"/> with <paramref name="mode"/>; false if something of that name exists.</summary>
    public bool TryCreateChild(string name, int mode)
    {
        CheckName(name);
        KillPoints.Step("mkdir", name);
        if (LibC.MkdirAt(Handle.Value, name, mode) == 0)
            return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.EEXIST)
            return false;
        throw Errno.ToException($"mkdir {Path.TrimEnd('/')}/{name}", errno);
    }

    /// <summary>The owner and mode of this directory, from the open descriptor (not by name).</summary>
    public (uint Uid, uint Gid, int Mode) Owner()
    {
        var stat = Stat(Handle.Value, "", LibC.AT_EMPTY_PATH);
        return (stat.Uid, stat.Gid, stat.Mode & 0xFFF);
    }

    /// <summary>
    /// Why this directory must not be trusted for state, or null if it may be: it must belong to root or to the
    /// caller's effective uid, and no one else may write to it (group- or world-writable, sticky or not).
    /// </summary>
    public string? Distrust()
    {
        var (uid, _, mode) = Owner();
        var me = LibC.Geteuid();
        if (uid != 0 && uid != me)
            return $"{Path} belongs to uid {uid}, not to root or uid {me}: someone else made it; remove it, or mount bpffs with mode=0755 so only root can create names there";
        if ((mode & 0x12) != 0) // S_IWGRP | S_IWOTH
            return $"{Path} is writable by others (mode {Convert.ToString(mode, 8)}): chmod go-w {Path}";
        return null;
    }

    /// <summary>Removes the child <paramref name="name"/> (a pin, or an empty directory with <paramref name="directory"/>); false if it is not there.</summary>
    public bool TryRemoveChild(string name, bool directory)
    {
        CheckName(name);
        KillPoints.Step("unlink", name);
        if (LibC.UnlinkAt(Handle.Value, name, directory ? LibC.AT_REMOVEDIR : 0) == 0)
            return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.ENOENT)
            return false;
        throw Errno.ToException($"remove {Path.TrimEnd('/')}/{name}", errno);
    }

    /// <summary>The names in this directory, read through the descriptor (so a rename of its path changes nothing).</summary>
    public IReadOnlyList<string> Names() =>
        [.. Directory.EnumerateFileSystemEntries($"/proc/self/fd/{Handle.Value}").Select(System.IO.Path.GetFileName).OfType<string>()];

    /// <summary>Closes the directory.</summary>
    public void Dispose() => Handle.Dispose();

    private unsafe int OpenBeneath(string name, int flags)
    {
        if (!s_noOpenat2)
        {
            var how = new LibC.OpenHow { Flags = (ulong)flags, Resolve = LibC.RESOLVE_NO_SYMLINKS | LibC.RESOLVE_BENEATH | LibC.RESOLVE_NO_MAGICLINKS };
            var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
            fixed (byte* path = bytes)
            {
                var fd = (int)LibC.Syscall(LibC.SYS_openat2, Handle.Value, (long)path, (long)&how, sizeof(LibC.OpenHow));
                if (fd >= 0 || Marshal.GetLastPInvokeError() != 38 /* ENOSYS: before Linux 5.6 */)
                    return fd;
            }
            s_noOpenat2 = true;
        }
        return LibC.OpenAt(Handle.Value, name, flags, 0);
    }

    private static unsafe LibC.StatX Stat(int fd, string path, int flags)
    {
        LibC.StatX stat;
        if (LibC.Statx(fd, path, flags, LibC.STATX_TYPE | LibC.STATX_MODE | LibC.STATX_UID | LibC.STATX_GID | LibC.STATX_INO, &stat) != 0)
            throw Errno.Last("statx");
        return stat;
    }

    private static void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name is "." or ".." || name.Contains('/') || name.Contains('\0'))
            throw new ArgumentException($"'{name}' is not one path component", nameof(name));
    }
}
