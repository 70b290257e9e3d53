using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>Network interfaces of the calling thread's namespace: bring one up, find its index.</summary>
public static unsafe class Interfaces
{
    private const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914, SIOCGIFINDEX = 0x8933;
    private const short IFF_UP = 0x1;

    /// <summary>Sets <paramref name="name"/> up (like <c>ip link set NAME up</c>) in the calling thread's namespace.</summary>
    public static void SetUp(string name)
    {
        using var socket = ControlSocket();
        var request = new InterfaceRequest(name);
        if (LibC.Ioctl(socket.Value, SIOCGIFFLAGS, &request) != 0)
            throw Errno.Last($"read flags of interface {name}");
        request.Flags |= IFF_UP;
        if (LibC.Ioctl(socket.Value, SIOCSIFFLAGS, &request) != 0)
            throw Errno.Last($"set interface {name} up");
    }

    /// <summary>The index of interface <paramref name="name"/> in the calling thread's namespace.</summary>
    public static int IndexOf(string name)
    {
        using var socket = ControlSocket();
        var request = new InterfaceRequest(name);
        if (LibC.Ioctl(socket.Value, SIOCGIFINDEX, &request) != 0)
            throw Errno.Last($"find interface {name}");
        return request.Index;
    }

    private static FileDescriptor ControlSocket()
    {
        var fd = LibC.Socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw Errno.Last("open a control socket");
        return new FileDescriptor(fd, ownsHandle: true);
    }

    /// <summary><c>struct ifreq</c>: a 16-byte name, then a union holding the flags or the index.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    private struct InterfaceRequest
    {
        [FieldOffset(0)] private fixed byte _name[16];
        [FieldOffset(16)] public short Flags;
        [FieldOffset(16)] public int Index;

        public InterfaceRequest(string name)
        {
            if (name.Length is 0 or > 15)
                throw new ArgumentException($"interface name '{name}' must be 1 to 15 characters", nameof(name));
            for (var i = 0; i < name.Length; i++)
                _name[i] = (byte)name[i];
        }
    }
}
