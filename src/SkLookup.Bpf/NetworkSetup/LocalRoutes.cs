using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// Adds local routes through rtnetlink, so that a namespace accepts traffic for a whole prefix without
/// configuring its addresses (like <c>ip route add local 192.0.2.0/24 dev lo</c>). It acts on the
/// calling thread's namespace: call it inside <see cref="NetworkNamespace.Run{T}"/>.
/// </summary>
public static unsafe class LocalRoutes
{
    private const ushort RTM_NEWROUTE = 24, NLMSG_ERROR = 2;
    private const ushort NLM_F_REQUEST = 0x1, NLM_F_ACK = 0x4, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    private const byte RT_TABLE_LOCAL = 255, RTPROT_BOOT = 3, RT_SCOPE_HOST = 254, RTN_LOCAL = 2;
    private const ushort RTA_DST = 1, RTA_OIF = 4;

    /// <summary>Routes <paramref name="prefix"/>/<paramref name="length"/> to this host through <paramref name="device"/>.</summary>
    public static void Add(IPAddress prefix, int length, string device = "lo")
    {
        var v6 = prefix.AddressFamily == AddressFamily.InterNetworkV6;
        var addressSize = v6 ? 16 : 4;
        if (length < 0 || length > addressSize * 8)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a prefix length is 0 to {addressSize * 8}");
        var index = Interfaces.IndexOf(device);

        Span<byte> message = stackalloc byte[64];
        message.Clear();
        var size = 16 + 12;
        size += Attribute(message[size..], RTA_DST, prefix.GetAddressBytes());
        Span<byte> oif = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(oif, index);
        size += Attribute(message[size..], RTA_OIF, oif);
        // nlmsghdr
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(message[4..], RTM_NEWROUTE);
        BinaryPrimitives.WriteUInt16LittleEndian(message[6..], NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        BinaryPrimitives.WriteUInt32LittleEndian(message[8..], 1);
        // rtmsg
        message[16] = (byte)(v6 ? 10 : 2);
        message[17] = (byte)length;
        message[20] = RT_TABLE_LOCAL;
        message[21] = RTPROT_BOOT;
        message[22] = RT_SCOPE_HOST;
        message[23] = RTN_LOCAL;

        var fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, LibC.NETLINK_ROUTE);
        if (fd < 0)
            throw Errno.Last("open rtnetlink");
        using var socket = new FileDescriptor(fd, ownsHandle: true);
        Span<byte> kernel = stackalloc byte[12];
        kernel.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(kernel, LibC.AF_NETLINK);
        fixed (byte* messagePointer = message)
        fixed (byte* kernelPointer = kernel)
        {
            if (LibC.SendTo(fd, messagePointer, (nuint)size, 0, kernelPointer, 12) < 0)
                throw Errno.Last($"add local route {prefix}/{length}");
        }
        Span<byte> reply = stackalloc byte[1024];
        fixed (byte* replyPointer = reply)
        {
            var received = LibC.Recv(fd, replyPointer, (nuint)reply.Length, 0);
            if (received < 0)
                throw Errno.Last($"add local route {prefix}/{length}");
            if (received >= 20 && BinaryPrimitives.ReadUInt16LittleEndian(reply[4..]) == NLMSG_ERROR)
            {
                var error = -BinaryPrimitives.ReadInt32LittleEndian(reply[16..]);
                if (error != 0)
                    throw Errno.ToException($"add local route {prefix}/{length} dev {device}", error);
            }
        }
    }

    private static int Attribute(Span<byte> destination, ushort type, ReadOnlySpan<byte> payload)
    {
        var length = 4 + payload.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], type);
        payload.CopyTo(destination[4..]);
        return (length + 3) & ~3;
    }
}
