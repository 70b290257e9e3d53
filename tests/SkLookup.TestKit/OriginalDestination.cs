using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SkLookup.Bpf;

namespace SkLookup.TestKit;

/// <summary>
/// Receives a datagram together with the address and port it was sent to (<c>IP_ORIGDSTADDR</c> /
/// <c>IPV6_ORIGDSTADDR</c>). A UDP socket that sk_lookup steered traffic to is bound elsewhere, so only
/// this tells it where the client sent, and where a reply must come from for the client to accept it.
/// </summary>
public static unsafe partial class OriginalDestination
{
    private const int SolIp = 0, IpRecvOrigDstAddr = 20;          // IP_ORIGDSTADDR has the same number
    private const int SolIpv6 = 41, Ipv6RecvOrigDstAddr = 74;     // IPV6_ORIGDSTADDR has the same number
    private const int MsgDontWait = 0x40, MsgCtrunc = 0x08;

    /// <summary>Asks the kernel to report the original destination of every datagram <paramref name="socket"/> receives.</summary>
    public static void Enable(Socket socket)
    {
        // The IPv4 option matters for an IPv6 socket too: it covers the IPv4 datagrams a dual-stack socket gets.
        socket.SetRawSocketOption(SolIp, IpRecvOrigDstAddr, BitConverter.GetBytes(1));
        if (socket.AddressFamily == AddressFamily.InterNetworkV6)
            socket.SetRawSocketOption(SolIpv6, Ipv6RecvOrigDstAddr, BitConverter.GetBytes(1));
    }

    /// <summary>
    /// Waits up to <see cref="Traffic.Timeout"/> for a datagram on <paramref name="socket"/> (which must have
    /// had <see cref="Enable"/>), and reads it into <paramref name="buffer"/>.
    /// </summary>
    /// <returns>The datagram's length, its source, and the address and port it was sent to.</returns>
    public static (int Length, IPEndPoint Source, IPEndPoint Destination) Receive(Socket socket, Span<byte> buffer)
    {
        if (!socket.Poll(Traffic.Timeout, SelectMode.SelectRead))
            throw new TimeoutException($"no datagram reached {socket.LocalEndPoint} within {Traffic.Timeout.TotalSeconds} s");

        Span<byte> name = stackalloc byte[128];       // sockaddr_storage
        Span<byte> control = stackalloc byte[256];    // room for one sockaddr_in6 control message and more
        fixed (byte* data = buffer)
        fixed (byte* namePointer = name)
        fixed (byte* controlPointer = control)
        {
            var vector = new IoVector { Base = data, Length = (nuint)buffer.Length };
            var message = new MessageHeader
            {
                Name = namePointer,
                NameLength = (uint)name.Length,
                Vectors = &vector,
                VectorCount = 1,
                Control = controlPointer,
                ControlLength = (nuint)control.Length,
            };
            var length = RecvMsg((int)socket.Handle, &message, MsgDontWait);
            if (length < 0)
                throw new SocketException(Marshal.GetLastPInvokeError());
            if ((message.Flags & MsgCtrunc) != 0)
                throw new InvalidOperationException("recvmsg truncated the control messages");

            var source = ParseSocketAddress(name[..(int)message.NameLength]);
            IPEndPoint? destination = null;
            var offset = 0;
            var controlLength = (int)message.ControlLength;
            while (offset + 16 <= controlLength)
            {
                // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } followed by the data, 8-byte aligned.
                var entryLength = (int)MemoryMarshal.Read<nuint>(control[offset..]);
                var level = MemoryMarshal.Read<int>(control[(offset + 8)..]);
                var type = MemoryMarshal.Read<int>(control[(offset + 12)..]);
                if (entryLength < 16)
                    break;
                if ((level == SolIp && type == IpRecvOrigDstAddr) || (level == SolIpv6 && type == Ipv6RecvOrigDstAddr))
                    destination = ParseSocketAddress(control.Slice(offset + 16, entryLength - 16));
                offset += (entryLength + 7) & ~7;
            }
            if (destination is null)
                throw new InvalidOperationException($"the datagram on {socket.LocalEndPoint} came without its original destination; call OriginalDestination.Enable first");
            return ((int)length, source, destination);
        }
    }

    private static IPEndPoint ParseSocketAddress(ReadOnlySpan<byte> address) =>
        SocketAddressParser.Parse(address) ?? throw new InvalidOperationException($"unexpected address family {(address.Length >= 2 ? MemoryMarshal.Read<ushort>(address) : -1)}");

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    // struct msghdr on 64-bit Linux.
    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public byte* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(int fd, MessageHeader* message, int flags);
}
