using System.Runtime.InteropServices;

namespace SkLookup.Bpf.Interop;

/// <summary>The directory-relative file calls that <see cref="SafeDirectory"/> makes, so a state path never follows a symlink.</summary>
internal static unsafe partial class LibC
{
    [LibraryImport(Library, EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int OpenAt(int dirFd, string path, int flags, int mode);

    [LibraryImport(Library, EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MkdirAt(int dirFd, string path, int mode);

    [LibraryImport(Library, EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int UnlinkAt(int dirFd, string path, int flags);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Statx(int dirFd, string path, int flags, uint mask, StatX* result);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Library, EntryPoint = "isatty")]
    internal static partial int IsATty(int fd);

    [LibraryImport(Library, EntryPoint = "geteuid")]
    internal static partial uint Geteuid();

    [LibraryImport(Library, EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FchownAt(int dirFd, string path, uint owner, uint group, int flags);

    [LibraryImport(Library, EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int GetGrNamR(string name, Group* group, byte* buffer, nuint size, Group** result);

    [LibraryImport(Library, EntryPoint = "getgrgid_r")]
    internal static partial int GetGrGidR(uint gid, Group* group, byte* buffer, nuint size, Group** result);

    /// <summary><c>struct group</c>; the fields read are named.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Group
    {
        public byte* Name;
        public byte* Password;
        public uint Gid;
        public byte** Members;
    }

    internal const int AT_FDCWD = -100;

    /// <summary><c>syscall(2)</c> with four arguments, for openat2.</summary>
    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long arg1, long arg2, long arg3, long arg4);

    /// <summary><c>openat2(2)</c> (Linux 5.6): the same number on x86_64 and arm64, as every syscall since 5.1 is.</summary>
    internal const long SYS_openat2 = 437;
    internal const ulong RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;
    internal const int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200;
    internal const uint STATX_TYPE = 0x1, STATX_MODE = 0x2, STATX_UID = 0x8, STATX_GID = 0x10, STATX_INO = 0x100;
    internal const int S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFSOCK = 0xC000;
    internal const uint STATX_SIZE = 0x200;
    internal const short POLLIN = 0x1;
    internal const int O_NONBLOCK = 0x800, O_NOCTTY = 0x100; // the same on x86_64 and arm64

    /// <summary><c>struct pollfd</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    /// <summary>O_NOFOLLOW and O_DIRECTORY differ between x86_64 and the generic layout of arm64.</summary>
    internal static int O_NOFOLLOW_FLAG => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <inheritdoc cref="O_NOFOLLOW_FLAG"/>
    internal static int O_DIRECTORY_FLAG => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;

    /// <summary><c>struct open_how</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    /// <summary><c>struct statx</c> (256 bytes, the same on every architecture); the fields read are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct StatX
    {
        [FieldOffset(0)] public uint Mask;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(40)] public ulong Size;
    }
}
