using System.Runtime.InteropServices;
using System.Text;
using SkLookup.Bpf.Asm;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>A program loaded in the kernel. It owns its file descriptor.</summary>
public sealed unsafe class BpfProgram : IDisposable
{
    private const uint MaxLogSize = uint.MaxValue >> 8; // The kernel's cap on log_size (UINT_MAX >> 8).

    private BpfProgram(FileDescriptor fd, ProgramInfo info)
    {
        Handle = fd;
        Info = info;
    }

    /// <summary>The program's file descriptor.</summary>
    public FileDescriptor Handle { get; }

    /// <summary>What the kernel reported about the program when it was loaded or opened.</summary>
    public ProgramInfo Info { get; }

    /// <summary>
    /// Loads <paramref name="spec"/>, patching its map references with the fds of <paramref name="maps"/>.
    /// The first attempt runs without a verifier log (it is cheaper); a failure is retried with the log,
    /// growing the buffer until the whole log fits, and reported as a <see cref="BpfVerifierException"/>,
    /// or as a <see cref="BpfNotSupportedException"/> where the kernel lacks what the program reads
    /// (<c>ingress_ifindex</c> before Linux 5.17).
    /// </summary>
    public static BpfProgram Load(ProgramSpec spec, IReadOnlyDictionary<string, BpfMap>? maps = null) =>
        LoadCore(spec, maps, explainMissingFeatures: true);

    /// <summary>
    /// <see cref="Load(ProgramSpec, IReadOnlyDictionary{string, BpfMap}?)"/> for the feature probes: a
    /// rejection is not explained by a missing feature, because that explanation asks the probes.
    /// </summary>
    internal static BpfProgram LoadForProbe(ProgramSpec spec) => LoadCore(spec, maps: null, explainMissingFeatures: false);

    private static BpfProgram LoadCore(ProgramSpec spec, IReadOnlyDictionary<string, BpfMap>? maps, bool explainMissingFeatures)
    {
        var instructions = Relocate(spec, maps);
        var license = BpfSyscall.Utf8Z(spec.License);
        fixed (Instruction* instructionPointer = instructions)
        fixed (byte* licensePointer = license)
        {
            var attr = new ProgLoadAttr
            {
                ProgType = (uint)spec.Type,
                InsnCount = (uint)instructions.Length,
                Insns = (ulong)instructionPointer,
                License = (ulong)licensePointer,
                ExpectedAttachType = (uint)spec.ExpectedAttachType,
            };
            BpfSyscall.CopyObjectName(MapSpec.SanitizeName(spec.Name), attr.ProgName);
            var fd = BpfSyscall.TryInvoke(BpfCommand.ProgLoad, ref attr, out var errno);
            if (fd >= 0)
                return FromFd(new FileDescriptor((int)fd, ownsHandle: true));

            var logSize = 64u * 1024;
            while (true)
            {
                var log = new byte[logSize];
                fixed (byte* logPointer = log)
                {
                    attr.LogLevel = 1;
                    attr.LogSize = logSize;
                    attr.LogBuf = (ulong)logPointer;
                    attr.LogTrueSize = 0;
                    fd = BpfSyscall.TryInvoke(BpfCommand.ProgLoad, ref attr, out errno);
                }
                if (fd >= 0) // Loaded on the second try (a transient failure the first time).
                    return FromFd(new FileDescriptor((int)fd, ownsHandle: true));
                if (errno == Errno.ENOSPC && logSize < MaxLogSize)
                {
                    logSize = attr.LogTrueSize > logSize ? attr.LogTrueSize : Math.Min(MaxLogSize, logSize * 4);
                    continue;
                }
                var end = Array.IndexOf(log, (byte)0);
                var text = Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end);
                throw LoadError(spec, errno, text, explainMissingFeatures);
            }
        }
    }

    private static BpfException LoadError(ProgramSpec spec, int errno, string log, bool explainMissingFeatures)
    {
        if (explainMissingFeatures && MissingFeature(spec, errno, log) is { } feature)
        {
            var missing = Features.Probe.NotSupported(feature);
            return new BpfNotSupportedException($"{missing.Feature} (read by program '{spec.Name}')", missing.MinimumKernel, errno);
        }
        if (log.Length > 0 && errno is Errno.EACCES or Errno.EINVAL or Errno.E2BIG or Errno.ENOSPC or Errno.EFAULT)
            return new BpfVerifierException(spec.Name, errno, log);
        if (errno == Errno.EINVAL && spec.Type == ProgramType.SkLookup)
            return new BpfNotSupportedException("BPF_PROG_TYPE_SK_LOOKUP", "5.9", errno);
        return Errno.ToException($"load program '{spec.Name}'", errno);
    }

    /// <summary>
    /// The kernel feature whose absence explains a rejection, if any: a verifier that refuses a read of
    /// <c>ingress_ifindex</c> (offsets 64 to 67) on a kernel before 5.17 is not saying the program is wrong.
    /// </summary>
    private static Features.Probe.Feature? MissingFeature(ProgramSpec spec, int errno, string log)
    {
        if (spec.Type != ProgramType.SkLookup || errno != Errno.EACCES)
            return null;
        const string Rejection = "invalid bpf_context access off=";
        var at = log.IndexOf(Rejection, StringComparison.Ordinal);
        if (at < 0)
            return null;
        // The rejected instruction is on the line before: it must be a load ("r0 = *(u32 *)(r1 +64)").
        var lineEnd = log.LastIndexOf('\n', Math.Max(at - 1, 0));
        var lineStart = lineEnd <= 0 ? 0 : log.LastIndexOf('\n', lineEnd - 1) + 1;
        if (lineEnd <= 0 || !log.AsSpan(lineStart, lineEnd - lineStart).Contains(" = *(", StringComparison.Ordinal))
            return null;
        var rest = log.AsSpan(at + Rejection.Length);
        if (!TryReadNumber(ref rest, out var offset) || !rest.StartsWith(" size=") || !TryReadNumber(ref rest, out var size, skip: 6))
            return null;
        // Only a read that 5.17 would accept: 1, 2 or 4 bytes, aligned, inside the field.
        if (offset is < SkLookupContext.IngressIfindex or >= SkLookupContext.IngressIfindex + 4 || size is not (1 or 2 or 4) || offset % size != 0)
            return null;
        return Features.Probe.HasIngressIfindex ? null : Features.Probe.Feature.IngressIfindex;
    }

    private static bool TryReadNumber(ref ReadOnlySpan<char> text, out int number, int skip = 0)
    {
        text = text[Math.Min(skip, text.Length)..];
        var length = 0;
        while (length < text.Length && char.IsAsciiDigit(text[length]))
            length++;
        var parsed = int.TryParse(text[..length], out number);
        text = text[length..];
        return parsed;
    }

    private static Instruction[] Relocate(ProgramSpec spec, IReadOnlyDictionary<string, BpfMap>? maps)
    {
        var instructions = spec.Instructions.ToArray();
        foreach (var reference in spec.MapReferences)
        {
            if (maps is null || !maps.TryGetValue(reference.MapName, out var map))
                throw new BpfException($"load program '{spec.Name}': instruction {reference.InstructionIndex} refers to map '{reference.MapName}', which was not given",
                    0, BpfErrorReason.NotFound);
            var index = reference.InstructionIndex;
            if (index + 1 >= instructions.Length || !instructions[index].IsLoadImm64)
                throw new BpfException($"load program '{spec.Name}': map reference at {index} is not a 64-bit immediate load", 0, BpfErrorReason.InvalidArgument);
            var pseudo = reference.IsValue ? OpCodes.PseudoMapValue : OpCodes.PseudoMapFd;
            instructions[index] = instructions[index].WithSource((Register)pseudo).WithImmediate(map.Handle.Value);
            instructions[index + 1] = instructions[index + 1].WithImmediate(reference.IsValue ? reference.Offset : 0);
        }
        return instructions;
    }

    /// <summary>Wraps a program file descriptor, taking ownership of it.</summary>
    public static BpfProgram FromFd(FileDescriptor fd)
    {
        try
        {
            return new BpfProgram(fd, ProgramInfo.Read(fd));
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Opens the program pinned at <paramref name="path"/>.</summary>
    public static BpfProgram OpenPinned(string path) => FromFd(BpfSyscall.OpenPinned(path, "program"));

    /// <summary>
    /// Opens the program pinned at <paramref name="path"/> asking for read access only (<c>BPF_F_RDONLY</c>), which is all
    /// the kernel checks on the pin: a program fd grants the same either way (its info, a test run).
    /// </summary>
    public static BpfProgram OpenPinnedReadOnly(string path) => FromFd(BpfSyscall.OpenPinned(path, "program", BpfSyscall.FileFlagReadOnly));

    /// <summary>Opens a program by its kernel id.</summary>
    public static BpfProgram OpenById(uint id)
    {
        var attr = new GetIdAttr { Id = id };
        return FromFd(BpfSyscall.InvokeForFd(BpfCommand.ProgGetFdById, ref attr, $"open program id {id}"));
    }

    /// <summary>Pins the program at <paramref name="path"/> on bpffs.</summary>
    public void Pin(string path) => BpfSyscall.Pin(Handle, path, $"program '{Info.Name}'");

    /// <summary>Reads the program's info again: its run count and run time change while it runs.</summary>
    public ProgramInfo RefreshInfo() => ProgramInfo.Read(Handle);

    /// <summary>
    /// Runs the sk_lookup program on a synthetic lookup with BPF_PROG_TEST_RUN (Linux 5.13+), <paramref name="repeat"/> times.
    /// </summary>
    public SkLookupTestResult TestRun(SkLookupTestInput input, uint repeat = 1)
    {
        Span<byte> context = stackalloc byte[SkLookupContext.Size];
        input.Encode(context);
        Span<byte> output = stackalloc byte[SkLookupContext.Size];
        output.Clear();
        fixed (byte* contextPointer = context)
        fixed (byte* outputPointer = output)
        {
            var attr = new ProgTestRunAttr
            {
                ProgFd = (uint)Handle.Value,
                Repeat = repeat,
                CtxSizeIn = (uint)context.Length,
                CtxIn = (ulong)contextPointer,
                CtxSizeOut = (uint)output.Length,
                CtxOut = (ulong)outputPointer,
            };
            var result = BpfSyscall.TryInvoke(BpfCommand.ProgTestRun, ref attr, out var errno);
            if (result < 0)
            {
                // ENOTSUPP is the kernel's answer for a program type without test runs; EOPNOTSUPP
                // (a reuseport socket selected without F_NO_REUSEPORT) is a property of the program.
                if (errno == Errno.ENOTSUPP)
                    throw new BpfNotSupportedException("sk_lookup test runs", "5.13", errno);
                if (errno == Errno.EOPNOTSUPP)
                    throw new BpfException($"test run of program '{Info.Name}': EOPNOTSUPP: it selected a reuseport socket without BPF_SK_LOOKUP_F_NO_REUSEPORT, which a test run cannot follow",
                        errno, BpfErrorReason.NotSupported);
                throw Errno.ToException($"test run of program '{Info.Name}'", errno);
            }
            return new SkLookupTestResult((SkAction)attr.Retval, MemoryMarshal.Read<ulong>(output), attr.Duration);
        }
    }

    /// <summary>
    /// Attaches this program to the SO_REUSEPORT group of <paramref name="socket"/> (SO_ATTACH_REUSEPORT_EBPF),
    /// so that it picks the member socket for each new connection or datagram. The socket must have
    /// SO_REUSEPORT set; the program must be an <see cref="ProgramType.SkReuseport"/> (or socket filter) program.
    /// The group keeps its own reference, so this program may be disposed afterwards.
    /// </summary>
    public void AttachToReuseportGroup(System.Net.Sockets.Socket socket)
    {
        using var fd = new FileDescriptor((int)socket.Handle, ownsHandle: false);
        AttachToReuseportGroup(fd);
    }

    /// <inheritdoc cref="AttachToReuseportGroup(System.Net.Sockets.Socket)"/>
    public void AttachToReuseportGroup(FileDescriptor socket)
    {
        var programFd = Handle.Value;
        if (LibC.Setsockopt(socket.Value, SolSocket, SoAttachReuseportEbpf, &programFd, sizeof(int)) == 0)
            return;
        var errno = Marshal.GetLastPInvokeError();
        var operation = $"attach {this} to the reuseport group of socket {socket.Value}";
        throw errno switch
        {
            Errno.EINVAL when Info.Type is not (ProgramType.SkReuseport or ProgramType.SocketFilter) =>
                new BpfException($"{operation}: EINVAL: only SK_REUSEPORT and socket filter programs select reuseport sockets", errno, BpfErrorReason.InvalidArgument),
            Errno.EINVAL => new BpfException($"{operation}: EINVAL: the socket has no reuseport group; set SO_REUSEPORT before bind", errno, BpfErrorReason.InvalidArgument),
            Errno.ENOTSOCK => new BpfException($"{operation}: ENOTSOCK: the descriptor is not a socket", errno, BpfErrorReason.WrongSocket),
            _ => Errno.ToException(operation, errno),
        };
    }

    /// <summary>Detaches the reuseport program from the group of <paramref name="socket"/> (SO_DETACH_REUSEPORT_BPF, Linux 5.3+).</summary>
    public static void DetachFromReuseportGroup(System.Net.Sockets.Socket socket)
    {
        var unused = 0;
        if (LibC.Setsockopt((int)socket.Handle, SolSocket, SoDetachReuseportBpf, &unused, sizeof(int)) != 0)
            throw Errno.Last($"detach the reuseport program of socket {socket.Handle}");
    }

    private const int SolSocket = 1, SoAttachReuseportEbpf = 52, SoDetachReuseportBpf = 68;

    /// <summary>Disposes the file descriptor.</summary>
    public void Dispose() => Handle.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"program '{Info.Name}' id {Info.Id} ({Info.Type})";
}
