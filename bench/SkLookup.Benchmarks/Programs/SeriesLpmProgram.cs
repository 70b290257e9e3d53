using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Benchmarks.Programs;

/// <summary>
/// The program the sk_lookup series measured ([1] in its cover letter, inet-tool's inet-kern.c), in the
/// shape this benchmark asks for: an LPM_TRIE keyed by protocol, port and address whose value is a
/// socket index, then a SOCKMAP lookup and <c>bpf_sk_assign</c>. Like the original it looks the exact
/// port up first and, on a miss, the wildcard port 0. (The original has one more hash lookup, from a
/// service name to the index; this shape stores the index in the trie directly.)
/// </summary>
internal sealed class SeriesLpmProgram : IDisposable
{
    private const short KeyOffset = -LpmBinding.KeySize;   // The key lives at r10 - 24.

    private SeriesLpmProgram(BpfMap bindings, BpfMap sockets, BpfProgram program)
    {
        Bindings = bindings;
        Sockets = sockets;
        Program = program;
    }

    /// <summary>The LPM trie of bindings.</summary>
    public BpfMap Bindings { get; }

    /// <summary>The SOCKMAP of destination sockets (8-byte values, so user space can read cookies).</summary>
    public BpfMap Sockets { get; }

    /// <summary>The loaded program.</summary>
    public BpfProgram Program { get; }

    /// <summary>The program, kernel-free, written with our assembler.</summary>
    public static ProgramSpec Spec { get; } = BuildSpec();

    /// <summary>
    /// Creates the maps, fills the trie with <paramref name="bindingsCount"/> entries, of which
    /// <paramref name="steered"/> are the ones traffic will meet and the rest are filler that no
    /// benchmark traffic matches, and loads the program.
    /// </summary>
    public static SeriesLpmProgram Load(int bindingsCount, IReadOnlyList<LpmBinding> steered, int socketSlots = 1)
    {
        if (bindingsCount < steered.Count)
            throw new ArgumentOutOfRangeException(nameof(bindingsCount), bindingsCount, $"at least the {steered.Count} steered bindings are needed");
        using var cleanup = new Disposables();
        var bindings = cleanup.Add(BpfMap.Create(new MapSpec
        {
            Name = "bench_bindings",
            Type = MapType.LpmTrie,
            KeySize = LpmBinding.KeySize,
            ValueSize = 4,
            MaxEntries = (uint)bindingsCount,
            Flags = MapFlags.NoPrealloc,
        }));
        var sockets = cleanup.Add(BpfMap.Create(new MapSpec
        {
            Name = "bench_sockets",
            Type = MapType.SockMap,
            KeySize = 4,
            ValueSize = 8,
            MaxEntries = (uint)Math.Max(1, socketSlots),
        }));
        Span<byte> key = stackalloc byte[LpmBinding.KeySize];
        Span<byte> value = stackalloc byte[4];
        foreach (var binding in steered)
            Insert(bindings, binding, key, value);
        for (var i = 0; i < bindingsCount - steered.Count; i++)
            Insert(bindings, Filler(i), key, value);
        var program = cleanup.Add(BpfProgram.Load(Spec, new Dictionary<string, BpfMap> { ["bindings"] = bindings, ["sockets"] = sockets }));
        var result = new SeriesLpmProgram(bindings, sockets, program);
        cleanup.Clear();
        return result;
    }

    /// <summary>Puts <paramref name="socket"/> in slot <paramref name="index"/> of the socket map.</summary>
    public void RegisterSocket(uint index, Socket socket)
    {
        Span<byte> key = stackalloc byte[4];
        BitConverter.TryWriteBytes(key, index);
        Sockets.UpdateSocket(key, new FileDescriptor((int)socket.Handle, ownsHandle: false));
    }

    /// <summary>The cookie of the socket in slot <paramref name="index"/>.</summary>
    public ulong SocketCookie(uint index) => Sockets.LookupSocketCookie(BitConverter.GetBytes(index))
        ?? throw new InvalidOperationException($"socket slot {index} is empty");

    /// <summary>
    /// The filler bindings: both protocols and families, each on its own port, on documentation prefixes
    /// (198.51.100.0/24, 203.0.113.0/24, 2001:db8:100::/48 and up) that the flood never targets.
    /// </summary>
    public static LpmBinding Filler(int i)
    {
        var protocol = i % 2 == 0 ? ProtocolType.Tcp : ProtocolType.Udp;
        var v6 = i / 2 % 2 == 1;
        var port = 1024 + i;
        var socketIndex = 0u;
        return v6
            ? new LpmBinding(protocol, IPAddress.Parse($"2001:db8:{0x100 + i % 64:x}::"), 48, port, socketIndex)
            : new LpmBinding(protocol, IPAddress.Parse(i / 4 % 2 == 0 ? "198.51.100.0" : "203.0.113.0"), 24, port, socketIndex);
    }

    private static void Insert(BpfMap map, LpmBinding binding, Span<byte> key, Span<byte> value)
    {
        binding.EncodeKey(key);
        BitConverter.TryWriteBytes(value, binding.SocketIndex);
        map.Update(key, value, MapUpdateFlags.NoExist);
    }

    private static ProgramSpec BuildSpec()
    {
        const short Prefixlen = KeyOffset, ProtocolAndPad = KeyOffset + 4, Port = KeyOffset + 6, Address = KeyOffset + 8;
        var asm = new Assembler()
            .Mov(R6, R1)                                                          // ctx
            .Store(Size.Word, R10, Prefixlen, LpmBinding.FullPrefixBits)          // key.prefixlen = 160 (a full-length match)
            .Load(Size.Word, R2, R6, SkLookupContext.Protocol)                    // key.protocol = ctx->protocol, and the pad byte = 0
            .Store(Size.Half, R10, ProtocolAndPad, R2)
            .Load(Size.Word, R2, R6, SkLookupContext.LocalPort)                   // key.port = ctx->local_port (host order)
            .Store(Size.Half, R10, Port, R2)
            .Load(Size.Word, R2, R6, SkLookupContext.Family)
            .JumpIf(R2, JumpOp.NotEqual, SkLookupContext.AfInet, "ipv6")
            .Store(Size.Word, R10, Address, 0)                                     // key.addr = ::ffff:local_ip4
            .Store(Size.Word, R10, (short)(Address + 4), 0)
            .Store(Size.Word, R10, (short)(Address + 8), unchecked((int)0xffff0000)) // bytes 00 00 ff ff
            .Load(Size.Word, R2, R6, SkLookupContext.LocalIp4)
            .Store(Size.Word, R10, (short)(Address + 12), R2)
            .Jump("lookup")
            .Label("ipv6");                                                        // key.addr = local_ip6
        for (short word = 0; word < 16; word += 4)
            asm.Load(Size.Word, R2, R6, (short)(SkLookupContext.LocalIp6 + word)).Store(Size.Word, R10, (short)(Address + word), R2);
        return asm
            .Label("lookup")
            .LoadMapPointer(R1, "bindings").Mov(R2, R10).Add(R2, KeyOffset)        // index = bpf_map_lookup_elem(&bindings, &key)
            .Call(HelperFunction.MapLookupElem)
            .JumpIf(R0, JumpOp.NotEqual, 0, "found")
            .Store(Size.Half, R10, Port, 0)                                        // not found: try the wildcard port 0
            .LoadMapPointer(R1, "bindings").Mov(R2, R10).Add(R2, KeyOffset)
            .Call(HelperFunction.MapLookupElem)
            .JumpIf(R0, JumpOp.Equal, 0, "pass")                                   // no binding: let the normal lookup go on
            .Label("found")
            .Mov(R2, R0).LoadMapPointer(R1, "sockets")                             // sk = bpf_map_lookup_elem(&sockets, index)
            .Call(HelperFunction.MapLookupElem)
            .JumpIf(R0, JumpOp.Equal, 0, "drop")                                   // bound, but no socket: drop rather than leak
            .AssignSocket(context: R6, socket: R7, result: R8, failed: "drop")      // err = bpf_sk_assign(ctx, sk, 0); bpf_sk_release(sk)
            .Label("pass").Return(SkAction.Pass)
            .Label("drop").Return(SkAction.Drop)
            .Build("bench_series_lpm");
    }

    public void Dispose()
    {
        Program.Dispose();
        Sockets.Dispose();
        Bindings.Dispose();
    }
}
