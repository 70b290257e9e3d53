using System.Runtime.InteropServices;

namespace SkLookup.Hosting.Interop;

/// <summary>The one libc call this assembly makes itself.</summary>
internal static unsafe partial class LibC
{
    /// <summary><c>getsockname(2)</c>: the address the kernel bound the socket to.</summary>
    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, byte* address, uint* length);
}
