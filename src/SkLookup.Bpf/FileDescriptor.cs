using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// An owned Linux file descriptor: a map, program, link, namespace or socket. It closes itself when
/// disposed or finalized, unless it was created without ownership or ownership was handed over.
/// </summary>
public sealed class FileDescriptor : SafeHandle
{
    /// <summary>Wraps <paramref name="fd"/>; when <paramref name="ownsHandle"/> is true, disposing closes it.</summary>
    public FileDescriptor(int fd, bool ownsHandle) : base(invalidHandleValue: -1, ownsHandle)
    {
        SetHandle(fd);
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == -1;

    /// <summary>The raw descriptor number. It is valid only while this object is alive and not disposed.</summary>
    public int Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (int)handle;
        }
    }

    /// <summary>Duplicates the descriptor (close-on-exec); the copy is owned by the caller.</summary>
    public FileDescriptor Duplicate()
    {
        var copy = LibC.Fcntl(Value, LibC.F_DUPFD_CLOEXEC, 0);
        if (copy < 0)
            throw Errno.Last("duplicate file descriptor");
        return new FileDescriptor(copy, ownsHandle: true);
    }

    /// <summary>Hands the raw descriptor to the caller, who must close it; this object no longer does.</summary>
    public int Release()
    {
        var fd = Value;
        SetHandleAsInvalid();
        return fd;
    }

    /// <summary>
    /// Tries to take an advisory <c>flock(2)</c> on the open file without blocking: shared, or exclusive
    /// with <paramref name="exclusive"/>. False if another holder has a conflicting lock (EWOULDBLOCK). The
    /// lock belongs to the open file, so it ends when the descriptor is closed or its process dies.
    /// </summary>
    public bool TryLock(bool exclusive)
    {
        while (true)
        {
            if (LibC.Flock(Value, (exclusive ? LibC.LOCK_EX : LibC.LOCK_SH) | LibC.LOCK_NB) == 0)
                return true;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EWOULDBLOCK)
                return false;
            if (errno != Errno.EINTR)
                throw Errno.ToException($"lock {this}", errno);
        }
    }

    /// <summary>
    /// True if <paramref name="path"/> names the very file this descriptor has open (same device and
    /// inode); false if it names another file or nothing, e.g. after the file was removed or replaced.
    /// </summary>
    public bool IsSameFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (LibC.Fstat(Value, out var open) != 0)
            throw Errno.Last($"stat {path}");
        return LibC.StatPath(path, out var named) == 0 && named.Device == open.Device && named.Inode == open.Inode;
    }

    /// <summary>Opens <paramref name="path"/> read-only with close-on-exec.</summary>
    public static FileDescriptor OpenReadOnly(string path, bool directory = false)
    {
        var fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_CLOEXEC | (directory ? LibC.O_DIRECTORY : 0), 0);
        if (fd < 0)
            throw Errno.Last($"open {path}");
        return new FileDescriptor(fd, ownsHandle: true);
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;

    /// <inheritdoc />
    public override string ToString() => IsClosed ? "fd(closed)" : $"fd {(int)handle}";
}
