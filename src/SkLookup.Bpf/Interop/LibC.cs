using System.Runtime.InteropServices;

namespace SkLookup.Bpf.Interop;

/// <summary>
/// The C library entry points of the whole product. Each is declared once, here, with
/// <c>SetLastError</c> so that errno is captured right after the call.
/// </summary>
/// <remarks>
/// Why one internal class in the core, and not a shared interop source set compiled into each assembly
/// (dotnet/runtime's pattern): the layers above the core must not touch raw syscalls, so the core offers
/// what they need as public API instead (<see cref="FileDescriptor.TryLock"/>, <see cref="FileDescriptor.IsSameFile"/>,
/// <see cref="BpfFileSystem.Rename"/>, <see cref="SocketHandles.LocalEndPoint"/>, <see cref="SocketAddressParser"/>).
/// A shared source set would put a second copy of these types, and of their errno handling, in every
/// assembly that includes it. The kernel constants sit beside the calls (LibC.Sockets.cs).
/// </remarks>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long arg1, long arg2, long arg3);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Library, EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(int fd, int operation);

    [LibraryImport(Library, EntryPoint = "fstat", SetLastError = true)]
    internal static partial int Fstat(int fd, out Stat stat);

    [LibraryImport(Library, EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int StatPath(string path, out Stat stat);

    [LibraryImport(Library, EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Statfs(string path, out StatFs stat);

    [LibraryImport(Library, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Mount(string source, string target, string fileSystemType, ulong flags, nint data);

    [LibraryImport(Library, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Umount2(string target, int flags);

    [LibraryImport(Library, EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Rename(string oldPath, string newPath);

    [LibraryImport(Library, EntryPoint = "setns", SetLastError = true)]
    internal static partial int Setns(int fd, int namespaceType);

    [LibraryImport(Library, EntryPoint = "unshare", SetLastError = true)]
    internal static partial int Unshare(int flags);

    [LibraryImport(Library, EntryPoint = "gettid")]
    internal static partial int Gettid();

    [LibraryImport(Library, EntryPoint = "getpid")]
    internal static partial int Getpid();

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Library, EntryPoint = "getsockopt", SetLastError = true)]
    internal static partial int Getsockopt(int fd, int level, int name, void* value, ref uint length);

    [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int Setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Library, EntryPoint = "getsockname", SetLastError = true)]
    internal static partial int Getsockname(int fd, void* address, ref uint length);

    [LibraryImport(Library, EntryPoint = "getpeername", SetLastError = true)]
    internal static partial int Getpeername(int fd, void* address, ref uint length);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(int fd, ulong request, void* argument);

    [LibraryImport(Library, EntryPoint = "sendto", SetLastError = true)]
    internal static partial nint SendTo(int fd, void* buffer, nuint length, int flags, void* address, uint addressLength);

    [LibraryImport(Library, EntryPoint = "recv", SetLastError = true)]
    internal static partial nint Recv(int fd, void* buffer, nuint length, int flags);

    [LibraryImport(Library, EntryPoint = "getrlimit", SetLastError = true)]
    internal static partial int Getrlimit(int resource, ref Rlimit limit);

    [LibraryImport(Library, EntryPoint = "setrlimit", SetLastError = true)]
    internal static partial int Setrlimit(int resource, ref Rlimit limit);

    internal const int O_RDONLY = 0;
    internal const int O_DIRECTORY = 0x10000;
    internal const int O_CLOEXEC = 0x80000;
    internal const int F_DUPFD_CLOEXEC = 1030;
    internal const int CLONE_NEWNET = 0x40000000;
    internal const int LOCK_SH = 1;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;
    internal const int MNT_DETACH = 2;

    /// <summary><c>struct stat</c> on 64-bit Linux (x86_64 and the generic layout of arm64 agree on the fields we read).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    internal struct Stat
    {
        [FieldOffset(0)] public ulong Device;
        [FieldOffset(8)] public ulong Inode;
    }

    /// <summary><c>struct rlimit</c>: the soft and the hard limit.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    /// <summary><c>struct statfs</c> on 64-bit Linux; only <c>f_type</c> is read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 120)]
    internal struct StatFs
    {
        [FieldOffset(0)] public long Type;
    }
}
