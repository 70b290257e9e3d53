using System.Net.Sockets;

namespace SkLookup.Bpf.Tests;

/// <summary>Reads a socket's cookie the way the kernel reports it to user space, independent of BPF maps.</summary>
internal static class SoCookie
{
    private const int SolSocket = 1, SoCookieOption = 57;

    /// <summary>The socket's cookie from <c>getsockopt(SOL_SOCKET, SO_COOKIE)</c>.</summary>
    public static ulong Of(Socket socket)
    {
        var value = new byte[8];
        var length = socket.GetRawSocketOption(SolSocket, SoCookieOption, value);
        Assert.Equal(8, length);
        return BitConverter.ToUInt64(value);
    }
}
