using System.Runtime.InteropServices;
using SkLookup.Benchmarks.Native;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// The flood source: an AF_PACKET socket in the source namespace, bound to its veth, and one thread
/// pinned to the source CPU that sends prebuilt frames in <c>sendmmsg</c> batches, round after round,
/// as fast as the kernel takes them, until stopped. The qdisc is bypassed: the frames go straight to
/// the veth, which hands them to the receiver's backlog.
/// </summary>
internal sealed unsafe class PacketSender : IDisposable
{
    private const int BatchSize = 250;   // sendmmsg takes at most UIO_MAXIOV (1024) messages.

    private readonly int _fd;
    private readonly int _cpu;
    private readonly int _frameCount;
    private readonly byte* _frames;
    private readonly LinuxNative.IoVector* _vectors;
    private readonly LinuxNative.MultiMessageHeader* _messages;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _sent;
    private volatile string? _failure;
    private readonly ManualResetEventSlim _running = new();
    private int _threadId;

    private PacketSender(int fd, byte[][] frames, int cpu)
    {
        _fd = fd;
        _cpu = cpu;
        _frameCount = frames.Length - frames.Length % BatchSize;
        if (_frameCount == 0)
            throw new ArgumentException($"at least {BatchSize} frames are needed", nameof(frames));
        var frameSize = 0;
        foreach (var frame in frames)
            frameSize = Math.Max(frameSize, frame.Length);
        var stride = (frameSize + 63) & ~63;
        _frames = (byte*)NativeMemory.AlignedAlloc((nuint)(stride * _frameCount), 64);
        _vectors = (LinuxNative.IoVector*)NativeMemory.AllocZeroed((nuint)(sizeof(LinuxNative.IoVector) * _frameCount));
        _messages = (LinuxNative.MultiMessageHeader*)NativeMemory.AllocZeroed((nuint)(sizeof(LinuxNative.MultiMessageHeader) * _frameCount));
        for (var i = 0; i < _frameCount; i++)
        {
            var destination = _frames + (long)i * stride;
            frames[i].CopyTo(new Span<byte>(destination, frames[i].Length));
            _vectors[i] = new LinuxNative.IoVector { Base = destination, Length = (nuint)frames[i].Length };
            _messages[i].Vectors = &_vectors[i];
            _messages[i].VectorCount = 1;
        }
        _thread = new Thread(Loop, maxStackSize: 256 * 1024) { IsBackground = true, Name = "flood-sender" };
    }

    /// <summary>Frames the kernel accepted so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>
    /// The CPU time the sender thread has used, in ns, from the scheduler's own accounting
    /// (<c>/proc/self/task/TID/schedstat</c>), which is exact, unlike the tick-sampled <c>/proc/stat</c>.
    /// Work done in softirq context while the thread runs (a veth delivering the packet on the same CPU)
    /// is charged to it too.
    /// </summary>
    public long CpuTimeNs
    {
        get
        {
            var fields = File.ReadAllText($"/proc/self/task/{_threadId}/schedstat").Split(' ');
            return long.Parse(fields[0]);
        }
    }

    /// <summary>Opens the socket in <paramref name="source"/> on <paramref name="device"/> and starts sending <paramref name="frames"/>.</summary>
    public static PacketSender Start(NetworkNamespace source, string device, byte[][] frames, int cpu)
    {
        var fd = source.Run(() => OpenSocket(device));
        PacketSender sender;
        try
        {
            sender = new PacketSender(fd, frames, cpu);
        }
        catch
        {
            LinuxNative.Close(fd);
            throw;
        }
        sender._thread.Start();
        sender._running.Wait();
        try
        {
            sender.ThrowIfFailed();
        }
        catch
        {
            sender.Dispose();
            throw;
        }
        return sender;
    }

    private static int OpenSocket(string device)
    {
        // Protocol 0: the socket sends but is never handed received packets.
        var fd = LinuxNative.Socket(LinuxNative.AF_PACKET, LinuxNative.SOCK_RAW | LinuxNative.SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw new InvalidOperationException($"open an AF_PACKET socket: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var one = 1;
            if (LinuxNative.SetSockOpt(fd, LinuxNative.SOL_PACKET, LinuxNative.PACKET_QDISC_BYPASS, &one, sizeof(int)) != 0)
                throw new InvalidOperationException($"set PACKET_QDISC_BYPASS: errno {Marshal.GetLastPInvokeError()}");
            var address = new LinuxNative.LinkLayerAddress { Family = LinuxNative.AF_PACKET, InterfaceIndex = Interfaces.IndexOf(device) };
            if (LinuxNative.Bind(fd, &address, (uint)sizeof(LinuxNative.LinkLayerAddress)) != 0)
                throw new InvalidOperationException($"bind the AF_PACKET socket to {device}: errno {Marshal.GetLastPInvokeError()}");
            return fd;
        }
        catch
        {
            LinuxNative.Close(fd);
            throw;
        }
    }

    private void Loop()
    {
        try
        {
            using var pin = CpuAffinity.PinCurrentThread(_cpu);
            _threadId = LinuxNative.GetTid();
            _running.Set();
            Send();
        }
        catch (Exception exception)
        {
            _failure = exception.Message;
        }
        finally
        {
            _running.Set(); // Never leave Start waiting, even if pinning failed.
        }
    }

    private void Send()
    {
        var next = 0;
        while (!_stopping)
        {
            var sent = LinuxNative.SendMmsg(_fd, _messages + next, BatchSize, 0);
            if (sent < 0)
            {
                // ENOBUFS: the veth refused a frame because the receiving CPU's backlog was full.
                var errno = Marshal.GetLastPInvokeError();
                if (errno is not (LinuxNative.ENOBUFS or LinuxNative.EAGAIN or LinuxNative.EINTR))
                {
                    _failure = $"sendmmsg failed with errno {errno}";
                    return;
                }
                sent = 0;
            }
            Interlocked.Add(ref _sent, sent);
            next += BatchSize;
            if (next == _frameCount)
                next = 0;
        }
    }

    /// <summary>Throws if the sender stopped on an error it cannot go past.</summary>
    public void ThrowIfFailed()
    {
        if (_failure is not null)
            throw new InvalidOperationException($"the flood sender stopped: {_failure}");
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
        LinuxNative.Close(_fd);
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        NativeMemory.AlignedFree(_frames);
        _running.Dispose();
    }
}
