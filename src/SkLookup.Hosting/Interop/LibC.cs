using System.Runtime.InteropServices;

namespace SkLookup.Hosting.Interop;

/// <summary>
/// The libc calls only this assembly makes (the rest come through the core's public API): recvmsg and
/// sendmsg with control messages, which .NET's Socket cannot do with a destination port.
/// </summary>
internal static unsafe partial class LibC
{
    /// <summary><c>recvmsg(2)</c>: one datagram with its source and control messages.</summary>
    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, MessageHeader* message, int flags);

    /// <summary><c>sendmsg(2)</c>: one datagram to an address, with control messages.</summary>
    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MessageHeader* message, int flags);
}
