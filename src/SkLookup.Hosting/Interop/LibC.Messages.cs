using System.Runtime.InteropServices;

namespace SkLookup.Hosting.Interop;

/// <summary>
/// The constants and layouts of <c>recvmsg</c>/<c>sendmsg</c> for UDP on 64-bit Linux (x86_64 and arm64
/// share them): <c>&lt;linux/in.h&gt;</c>, <c>&lt;linux/in6.h&gt;</c>, <c>&lt;bits/socket.h&gt;</c>.
/// </summary>
internal static partial class LibC
{
    public const int AF_INET = 2, AF_INET6 = 10;
    public const int SOL_SOCKET = 1, SOL_IP = 0, SOL_IPV6 = 41;

    /// <summary>Reports (and, in sendmsg, sets) the local address of a datagram: <c>struct in_pktinfo</c>.</summary>
    public const int IP_PKTINFO = 8;
    /// <summary>Binds to an address not (yet) configured, and sends from one: no privilege needed.</summary>
    public const int IP_FREEBIND = 15;
    /// <summary>Asks for <c>IP_ORIGDSTADDR</c>, a <c>sockaddr_in</c> with the datagram's destination address and port.</summary>
    public const int IP_RECVORIGDSTADDR = 20, IP_ORIGDSTADDR = 20;
    /// <summary>Asks for <c>IPV6_PKTINFO</c>, a <c>struct in6_pktinfo</c>.</summary>
    public const int IPV6_RECVPKTINFO = 49, IPV6_PKTINFO = 50;
    /// <summary>Asks for <c>IPV6_ORIGDSTADDR</c>, a <c>sockaddr_in6</c>.</summary>
    public const int IPV6_RECVORIGDSTADDR = 74, IPV6_ORIGDSTADDR = 74;

    public const int SO_REUSEPORT = 15, SO_ATTACH_FILTER = 26;

    public const int MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000;

    public const int EINTR = 4, EAGAIN = 11;

    /// <summary><c>sizeof(struct cmsghdr)</c>: size_t length, int level, int type.</summary>
    public const int CmsgHeaderSize = 16;

    /// <summary><c>CMSG_ALIGN</c>: control message data is aligned to <c>size_t</c>.</summary>
    public static int CmsgAlign(int length) => (length + 7) & ~7;

    /// <summary><c>CMSG_SPACE</c>: the room one control message with <paramref name="dataLength"/> bytes takes.</summary>
    public static int CmsgSpace(int dataLength) => CmsgHeaderSize + CmsgAlign(dataLength);
}

/// <summary><c>struct iovec</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVector
{
    public byte* Base;
    public nuint Length;
}

/// <summary><c>struct msghdr</c> on 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MessageHeader
{
    public byte* Name;
    public uint NameLength;
    public IoVector* Vectors;
    public nuint VectorCount;
    public byte* Control;
    public nuint ControlLength;
    public int Flags;
}
