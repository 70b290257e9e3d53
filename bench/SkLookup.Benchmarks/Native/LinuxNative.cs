using System.Runtime.InteropServices;

namespace SkLookup.Benchmarks.Native;

/// <summary>
/// The C library entry points only the benchmarks need: CPU affinity and a raw AF_PACKET sender.
/// Each is declared once, here, with errno captured right after the call.
/// </summary>
internal static unsafe partial class LinuxNative
{
    private const string Library = "libc";

    [LibraryImport(Library, EntryPoint = "sched_setaffinity", SetLastError = true)]
    internal static partial int SchedSetAffinity(int pid, nuint cpuSetSize, ulong* mask);

    [LibraryImport(Library, EntryPoint = "sched_getaffinity", SetLastError = true)]
    internal static partial int SchedGetAffinity(int pid, nuint cpuSetSize, ulong* mask);

    [LibraryImport(Library, EntryPoint = "sched_getcpu")]
    internal static partial int SchedGetCpu();

    [LibraryImport(Library, EntryPoint = "gettid")]
    internal static partial int GetTid();

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Library, EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(int fd, void* address, uint length);

    [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Library, EntryPoint = "sendmmsg", SetLastError = true)]
    internal static partial int SendMmsg(int fd, MultiMessageHeader* messages, uint count, int flags);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    // posix_spawnp returns its error number rather than setting errno.
    [LibraryImport(Library, EntryPoint = "posix_spawnp")]
    internal static partial int PosixSpawnSearchingPath(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport(Library, EntryPoint = "posix_spawn_file_actions_init")]
    internal static partial int PosixSpawnFileActionsInit(void* fileActions);

    [LibraryImport(Library, EntryPoint = "posix_spawn_file_actions_addopen")]
    internal static partial int PosixSpawnFileActionsAddOpen(void* fileActions, int fd, byte* path, int flags, uint mode);

    [LibraryImport(Library, EntryPoint = "posix_spawn_file_actions_adddup2")]
    internal static partial int PosixSpawnFileActionsAddDup2(void* fileActions, int fd, int newFd);

    [LibraryImport(Library, EntryPoint = "posix_spawn_file_actions_destroy")]
    internal static partial int PosixSpawnFileActionsDestroy(void* fileActions);

    [LibraryImport(Library, EntryPoint = "waitpid", SetLastError = true)]
    internal static partial int WaitPid(int pid, int* status, int options);

    /// <summary>Room for glibc's <c>posix_spawn_file_actions_t</c> (80 bytes on 64-bit Linux).</summary>
    internal const int SpawnFileActionsSize = 256;

    internal const int O_WRONLY = 1, O_CREAT = 0x40, O_TRUNC = 0x200;

    internal const int AF_PACKET = 17, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000;
    internal const int SOL_SOCKET = 1, SO_ATTACH_FILTER = 26, SOL_PACKET = 263, PACKET_QDISC_BYPASS = 20;
    internal const int SOL_IP = 0, IP_TRANSPARENT = 19, SOL_IPV6 = 41, IPV6_TRANSPARENT = 75;
    internal const int ENOBUFS = 105, EAGAIN = 11, EINTR = 4;

    /// <summary>The size of glibc's <c>cpu_set_t</c> (1024 CPUs).</summary>
    internal const int CpuSetWords = 16;

    /// <summary><c>struct iovec</c>.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 16)]
    internal struct IoVector
    {
        [FieldOffset(0)] public byte* Base;
        [FieldOffset(8)] public nuint Length;
    }

    /// <summary><c>struct mmsghdr</c>: a <c>struct msghdr</c> (56 bytes) and the count the kernel sent.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    internal struct MultiMessageHeader
    {
        [FieldOffset(0)] public void* Name;
        [FieldOffset(8)] public uint NameLength;
        [FieldOffset(16)] public IoVector* Vectors;
        [FieldOffset(24)] public nuint VectorCount;
        [FieldOffset(32)] public void* Control;
        [FieldOffset(40)] public nuint ControlLength;
        [FieldOffset(48)] public int Flags;
        [FieldOffset(56)] public uint SentLength;
    }

    /// <summary><c>struct sockaddr_ll</c> (20 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 20)]
    internal struct LinkLayerAddress
    {
        [FieldOffset(0)] public ushort Family;
        [FieldOffset(2)] public ushort Protocol;
        [FieldOffset(4)] public int InterfaceIndex;
    }

    /// <summary>A classic BPF instruction, <c>struct sock_filter</c>.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 8)]
    internal struct ClassicFilterInstruction
    {
        [FieldOffset(0)] public ushort Code;
        [FieldOffset(2)] public byte JumpTrue;
        [FieldOffset(3)] public byte JumpFalse;
        [FieldOffset(4)] public uint K;
    }

    /// <summary><c>struct sock_fprog</c>.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 16)]
    internal struct ClassicFilterProgram
    {
        [FieldOffset(0)] public ushort Length;
        [FieldOffset(8)] public ClassicFilterInstruction* Filter;
    }
}
