using System.Runtime.InteropServices;

namespace SkLookup.Bpf.Interop;

/// <summary>The <c>bpf(2)</c> system call. glibc has no wrapper, so it goes through <c>syscall(2)</c>.</summary>
internal static unsafe class BpfSyscall
{
    /// <summary>The syscall number of <c>bpf</c> on this architecture (<c>__NR_bpf</c>).</summary>
    internal static readonly long Number = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        Architecture.X86 => 357,
        Architecture.Arm => 386,
        Architecture.RiscV64 => 280,
        Architecture.LoongArch64 => 280,
        var other => throw new PlatformNotSupportedException($"bpf(2): no syscall number known for {other}"),
    };

    /// <summary>Calls <c>bpf(cmd, &amp;attr, sizeof attr)</c>; returns the result, or -1 with errno in <paramref name="errno"/>.</summary>
    internal static long TryInvoke<TAttr>(BpfCommand command, ref TAttr attr, out int errno) where TAttr : unmanaged
    {
        // Kernels before 5.11 charge maps, programs and BTF against RLIMIT_MEMLOCK: raise it first.
        if (command is BpfCommand.MapCreate or BpfCommand.ProgLoad or BpfCommand.BtfLoad)
            Features.MemlockLimit.EnsureRaised();
        return TryInvokeUncharged(command, ref attr, out errno);
    }

    /// <summary><see cref="TryInvoke"/> without raising the memlock limit first (for the probe that decides whether to).</summary>
    internal static long TryInvokeUncharged<TAttr>(BpfCommand command, ref TAttr attr, out int errno) where TAttr : unmanaged
    {
        if (command is BpfCommand.MapUpdateElem or BpfCommand.MapDeleteElem or BpfCommand.MapUpdateBatch or BpfCommand.MapDeleteBatch
            or BpfCommand.MapLookupAndDeleteBatch or BpfCommand.ObjPin or BpfCommand.LinkCreate or BpfCommand.LinkUpdate or BpfCommand.LinkDetach)
            KillPoints.Step("bpf", command);
        long result;
        fixed (TAttr* pointer = &attr)
        {
            do
            {
                result = LibC.Syscall(Number, (long)command, (long)pointer, sizeof(TAttr));
                errno = result < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            // A signal can interrupt long verifier runs and map walks; the kernel expects a retry.
            while (result < 0 && errno is Errno.EINTR or Errno.EAGAIN && command is BpfCommand.ProgLoad);
        }
        return result;
    }

    /// <summary>Calls <c>bpf(2)</c> and throws a <see cref="BpfException"/> naming <paramref name="operation"/> on failure.</summary>
    internal static long Invoke<TAttr>(BpfCommand command, ref TAttr attr, string operation) where TAttr : unmanaged
    {
        var result = TryInvoke(command, ref attr, out var errno);
        if (result < 0)
            throw Errno.ToException(operation, errno);
        return result;
    }

    /// <summary>Calls a <c>bpf(2)</c> command that returns a new file descriptor and wraps it.</summary>
    internal static FileDescriptor InvokeForFd<TAttr>(BpfCommand command, ref TAttr attr, string operation) where TAttr : unmanaged
        => new((int)Invoke(command, ref attr, operation), ownsHandle: true);

    /// <summary>Reads <c>bpf_*_info</c> for an object.</summary>
    internal static TInfo GetInfo<TInfo>(FileDescriptor fd, string operation) where TInfo : unmanaged
    {
        TInfo info = default;
        var attr = new ObjInfoAttr { BpfFd = (uint)fd.Value, InfoLen = (uint)sizeof(TInfo), Info = (ulong)&info };
        Invoke(BpfCommand.ObjGetInfoByFd, ref attr, operation);
        return info;
    }

    /// <summary>Pins the object behind <paramref name="fd"/> at <paramref name="path"/> on bpffs.</summary>
    internal static void Pin(FileDescriptor fd, string path, string what)
    {
        var bytes = Utf8Z(path);
        fixed (byte* pathPointer = bytes)
        {
            var attr = new ObjPinAttr { Pathname = (ulong)pathPointer, BpfFd = (uint)fd.Value };
            Invoke(BpfCommand.ObjPin, ref attr, $"pin {what} at {path}");
        }
    }

    /// <summary><c>BPF_F_RDONLY</c> in <c>file_flags</c> of BPF_OBJ_GET.</summary>
    internal const uint FileFlagReadOnly = 1 << 3;

    /// <summary>Opens the object pinned at <paramref name="path"/>.</summary>
    internal static FileDescriptor OpenPinned(string path, string what, uint fileFlags = 0)
    {
        var bytes = Utf8Z(path);
        fixed (byte* pathPointer = bytes)
        {
            var attr = new ObjPinAttr { Pathname = (ulong)pathPointer, FileFlags = fileFlags };
            return InvokeForFd(BpfCommand.ObjGet, ref attr, $"open pinned {what} {path}");
        }
    }

    internal static byte[] Utf8Z(string text)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(text) + 1];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    /// <summary>Copies a name into a fixed <c>char[16]</c> kernel field, cut to 15 bytes and NUL-terminated.</summary>
    internal static void CopyObjectName(string name, byte* destination)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(name);
        var length = Math.Min(bytes.Length, ObjectNameMaxLength);
        for (var i = 0; i < length; i++)
            destination[i] = bytes[i];
        destination[length] = 0;
    }

    /// <summary>Reads a NUL-terminated kernel <c>char[16]</c> name.</summary>
    internal static string ReadObjectName(byte* source)
    {
        var length = 0;
        while (length < 16 && source[length] != 0)
            length++;
        return System.Text.Encoding.ASCII.GetString(source, length);
    }

    /// <summary>The kernel keeps 15 characters of an object's name (BPF_OBJ_NAME_LEN - 1).</summary>
    internal const int ObjectNameMaxLength = 15;
}
