using System.Runtime.InteropServices;
using SkLookup.Bpf;

namespace SkLookup.State;

/// <summary>
/// The two file-system calls the state directory needs that .NET does not expose: <c>flock(2)</c> on a
/// directory, and a plain <c>rename(2)</c> that replaces its target in one step. Each is declared once,
/// here; errno becomes an exception through <see cref="Errno.ToException"/>.
/// </summary>
internal static partial class Posix
{
    internal const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameNative(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int Fstat(int fd, out Stat stat);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatPath(string path, out Stat stat);

    /// <summary><c>struct stat</c> on 64-bit Linux: x86_64 and the generic layout (arm64) agree on the two fields read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    private struct Stat
    {
        [FieldOffset(0)] public ulong Device;
        [FieldOffset(8)] public ulong Inode;
    }

    /// <summary>True if <paramref name="path"/> names the very file that <paramref name="fd"/> has open (same device and inode).</summary>
    internal static bool IsSameFile(FileDescriptor fd, string path)
    {
        if (Fstat(fd.Value, out var open) != 0)
            throw Errno.ToException($"stat {path}", Marshal.GetLastPInvokeError());
        return StatPath(path, out var named) == 0 && named.Device == open.Device && named.Inode == open.Inode;
    }

    /// <summary>Tries to take a lock without blocking; false if another holder has it (EWOULDBLOCK).</summary>
    internal static bool TryLock(FileDescriptor fd, bool exclusive, string path)
    {
        while (true)
        {
            if (Flock(fd.Value, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
                return true;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EWOULDBLOCK)
                return false;
            if (errno != Errno.EINTR)
                throw Errno.ToException($"lock {path}", errno);
        }
    }

    /// <summary>
    /// Renames <paramref name="from"/> to <paramref name="to"/> atomically, replacing a file that is there.
    /// On bpffs this swaps a pin: the object pinned at <paramref name="to"/> loses that reference.
    /// </summary>
    internal static void Rename(string from, string to)
    {
        if (RenameNative(from, to) != 0)
            throw Errno.ToException($"rename {from} to {to}", Marshal.GetLastPInvokeError());
    }
}
