using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// Reads a whole input file (a bindings file for <c>sklookup apply</c>) with bounds: at most <see cref="DefaultMaxBytes"/>,
/// only from a regular file, a FIFO or standard input, and never waiting forever for a silent writer.
/// </summary>
/// <remarks>
/// A FIFO is opened with O_NONBLOCK, so the open does not wait for a writer, and every read waits in poll(2)
/// with the idle timeout: a FIFO that nothing writes to, or a writer that stops, gives a clear error instead
/// of a hang. Devices such as /dev/zero, directories and sockets are refused by type before anything is read,
/// and a regular file that is too large is refused by its size, so memory stays bounded by the limit.
/// </remarks>
public static unsafe class InputFile
{
    /// <summary>The largest input: 256 MiB holds 2^21 bindings (the capacity of both families) at about 100 bytes each, pretty-printed.</summary>
    public const long DefaultMaxBytes = 256L << 20;

    /// <summary>How long a pipe or FIFO may stay silent before the read fails.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The bytes of <paramref name="path"/> ("-" for standard input). Every failure is a <see cref="BpfException"/>
    /// whose message says what to pass instead: <see cref="BpfErrorReason.TooBig"/> past <paramref name="maxBytes"/>,
    /// <see cref="BpfErrorReason.InvalidArgument"/> for a file of the wrong type, <see cref="BpfErrorReason.Busy"/>
    /// when a pipe stays silent for <paramref name="idleTimeout"/>, and the reason of the errno otherwise.
    /// </summary>
    public static byte[] ReadAll(string path, long maxBytes, TimeSpan idleTimeout)
    {
        var (fd, shown, regular, size) = OpenChecked(path, maxBytes);
        try
        {
            return Read(fd, shown, regular ? (int)size : 0, regular, maxBytes, idleTimeout);
        }
        finally
        {
            if (path != "-")
                LibC.Close(fd);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> ("-" for standard input) with the checks of <see cref="ReadAll"/>, as a stream to
    /// read a chunk at a time: a large file is then never held whole in memory. Reading it fails as <see cref="ReadAll"/>
    /// fails: past <paramref name="maxBytes"/>, or when a pipe stays silent for <paramref name="idleTimeout"/>.
    /// Disposing the stream closes the file (never standard input).
    /// </summary>
    /// <returns>The stream; its <see cref="Stream.Length"/> is the file's size for a regular file, and unknown (not seekable) otherwise.</returns>
    public static Stream OpenRead(string path, long maxBytes, TimeSpan idleTimeout)
    {
        var (fd, shown, regular, size) = OpenChecked(path, maxBytes);
        return new InputFileStream(fd, ownsFd: path != "-", shown, regular, size, maxBytes, idleTimeout);
    }

    /// <summary>Opens the input and checks its type and size; the caller closes the descriptor unless it is standard input.</summary>
    private static (int Fd, string Shown, bool Regular, long Size) OpenChecked(string path, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stdin = path == "-";
        var shown = stdin ? "standard input" : path;
        int fd;
        if (stdin)
        {
            fd = 0;
        }
        else
        {
            if (path.Length == 0 || path.Contains('\0'))
                throw Fail($"'{shown}' is not a file name", Errno.EINVAL);
            fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_NOCTTY | LibC.O_CLOEXEC, 0);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw Fail($"cannot open {shown}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }
        try
        {
            LibC.StatX stat;
            if (LibC.Statx(fd, "", LibC.AT_EMPTY_PATH, LibC.STATX_TYPE | LibC.STATX_SIZE, &stat) != 0)
                throw Fail($"cannot read {shown}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}", Marshal.GetLastPInvokeError());
            var type = stat.Mode & LibC.S_IFMT;
            var regular = type == LibC.S_IFREG;
            var allowed = regular || type == LibC.S_IFIFO || (stdin && (type == LibC.S_IFSOCK || (type == LibC.S_IFCHR && LibC.IsATty(fd) == 1)));
            if (!allowed)
                throw Fail($"{shown} is {TypeName(type)}: read a regular file, a pipe (FIFO), or - for standard input", Errno.EINVAL);
            if (regular && (long)stat.Size > maxBytes)
                throw Fail($"{shown} is {stat.Size} bytes, more than the limit of {Limit(maxBytes)} for a bindings file", Errno.E2BIG);
            return (fd, shown, regular, (long)stat.Size);
        }
        catch
        {
            if (!stdin)
                LibC.Close(fd);
            throw;
        }
    }

    /// <summary>Reads once into <paramref name="buffer"/>, waiting for a pipe first; 0 at the end. Counts against <paramref name="maxBytes"/> with <paramref name="readSoFar"/>.</summary>
    internal static int ReadChunk(int fd, string shown, bool regular, Span<byte> buffer, long readSoFar, long maxBytes, TimeSpan idleTimeout)
    {
        while (true)
        {
            if (!regular)
                WaitReadable(fd, shown, idleTimeout);
            nint read;
            fixed (byte* at = buffer)
                read = LibC.Read(fd, at, (nuint)buffer.Length);
            if (read < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is Errno.EINTR or Errno.EAGAIN)
                    continue;
                throw Fail($"cannot read {shown}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
            if (readSoFar + read > maxBytes)
                throw Fail($"{shown} has more than {Limit(maxBytes)}, the limit for a bindings file", Errno.E2BIG);
            return (int)read;
        }
    }

    private static byte[] Read(int fd, string shown, int sizeHint, bool regular, long maxBytes, TimeSpan idleTimeout)
    {
        var buffer = new byte[Math.Max(4096, Math.Min(sizeHint + 1, (int)Math.Min(maxBytes + 1, int.MaxValue)))];
        var length = 0;
        while (true)
        {
            if (!regular)
                WaitReadable(fd, shown, idleTimeout);
            if (length == buffer.Length)
            {
                if (length > maxBytes)
                    throw Fail($"{shown} has more than {Limit(maxBytes)}, the limit for a bindings file", Errno.E2BIG);
                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, Math.Min(maxBytes + 1, Array.MaxLength)));
            }
            nint read;
            fixed (byte* at = &buffer[length])
                read = LibC.Read(fd, at, (nuint)(buffer.Length - length));
            if (read < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is Errno.EINTR or Errno.EAGAIN)
                    continue;
                throw Fail($"cannot read {shown}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
            if (read == 0)
                break;
            length += (int)read;
            if (length > maxBytes)
                throw Fail($"{shown} has more than {Limit(maxBytes)}, the limit for a bindings file", Errno.E2BIG);
        }
        Array.Resize(ref buffer, length);
        return buffer;
    }

    /// <summary>Waits until the pipe has data or its writer closed it; a writer that stays silent is an error.</summary>
    private static void WaitReadable(int fd, string shown, TimeSpan idleTimeout)
    {
        var deadline = Environment.TickCount64 + (long)idleTimeout.TotalMilliseconds;
        while (true)
        {
            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
                throw Fail($"nothing arrived on {shown} for {idleTimeout.TotalSeconds:0.###} s: no writer is connected, or it stopped writing; write the whole file and close it, or pass a regular file", Errno.ETIMEDOUT, BpfErrorReason.Busy);
            var poll = new LibC.PollFd { Fd = fd, Events = LibC.POLLIN };
            var ready = LibC.Poll(&poll, 1, (int)Math.Min(remaining, int.MaxValue));
            if (ready > 0)
                return;
            if (ready < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR)
                throw Fail($"cannot wait for {shown}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}", Marshal.GetLastPInvokeError());
        }
    }

    private static string TypeName(int type) => type switch
    {
        LibC.S_IFDIR => "a directory",
        LibC.S_IFCHR => "a character device",
        LibC.S_IFBLK => "a block device",
        LibC.S_IFSOCK => "a socket",
        LibC.S_IFLNK => "a symbolic link",
        _ => "not a regular file",
    };

    private static string Limit(long bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes} bytes";

    private static BpfException Fail(string message, int errno, BpfErrorReason? reason = null) => new(message, errno, reason ?? Errno.Reason(errno));
}
