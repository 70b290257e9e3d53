using System.Runtime.InteropServices;

namespace SkLookup.Hosting.Interop;

/// <summary>The libc calls this assembly makes itself: each is declared here once.</summary>
internal static unsafe partial class LibC
{
    /// <summary><c>getsockname(2)</c>: the address the kernel bound the socket to.</summary>
    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, byte* address, uint* length);

    /// <summary><c>recvmsg(2)</c>: one datagram with its source and control messages.</summary>
    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, MessageHeader* message, int flags);

    /// <summary><c>sendmsg(2)</c>: one datagram to an address, with control messages.</summary>
    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MessageHeader* message, int flags);
}
