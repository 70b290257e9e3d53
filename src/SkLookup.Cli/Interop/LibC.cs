using System.Runtime.InteropServices;

namespace SkLookup.Cli.Interop;

/// <summary>
/// The libc calls the tool makes itself, to read an input file without blocking on a FIFO that has no
/// writer (an open(2) with O_NONBLOCK, then poll(2)), which .NET's file APIs cannot do.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    /// <summary><c>open(2)</c>.</summary>
    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    /// <summary><c>close(2)</c>.</summary>
    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary><c>read(2)</c>.</summary>
    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    /// <summary><c>poll(2)</c>.</summary>
    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    /// <summary><c>statx(2)</c>: its layout is the same on every architecture, unlike <c>struct stat</c>.</summary>
    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Statx(int dirFd, string path, int flags, uint mask, StatX* result);

    /// <summary><c>isatty(3)</c>.</summary>
    [LibraryImport(Library, EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    public const int O_RDONLY = 0;
    public const int O_NOCTTY = 0x100;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int AT_EMPTY_PATH = 0x1000;
    public const uint STATX_TYPE = 0x1;
    public const uint STATX_SIZE = 0x200;
    public const short POLLIN = 0x1;
    public const int S_IFMT = 0xF000;
    public const int S_IFREG = 0x8000;
    public const int S_IFIFO = 0x1000;
    public const int S_IFDIR = 0x4000;
    public const int S_IFCHR = 0x2000;
    public const int S_IFBLK = 0x6000;
    public const int S_IFSOCK = 0xC000;
    public const int S_IFLNK = 0xA000;
    public const int EINTR = 4;
    public const int EAGAIN = 11;

    /// <summary><c>struct pollfd</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    /// <summary><c>struct statx</c> (256 bytes); only the fields the tool reads are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct StatX
    {
        [FieldOffset(0)] public uint Mask;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(40)] public ulong Size;
    }
}
