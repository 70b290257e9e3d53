using System.Net;
using SkLookup.Benchmarks.Programs;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>One helper call and nothing else: the price of a call on this machine.</summary>
internal sealed class HelperCallCandidate : ILookupCandidate
{
    public string Name => "one helper call";

    public string Description => "a program that calls `bpf_get_numa_node_id` (which only reads a per-CPU variable) once and returns SK_PASS: what one helper call costs here";

    public IReadOnlyList<int> BindingCounts { get; } = [0];

    public PreparedCandidate Build(int bindingsCount, LookupShape shape)
    {
        var program = BpfProgram.Load(FloorPrograms.HelperCallSpec);
        var remote = new IPEndPoint(BenchmarkAddresses.Sender(shape), BenchmarkAddresses.FirstSourcePort);
        var local = new IPEndPoint(BenchmarkAddresses.Receiver(shape), BenchmarkAddresses.ServicePort);
        return new PreparedCandidate(program, [new("call", new SkLookupTestInput(shape.Protocol, remote, local), SkAction.Pass, 0)], program);
    }
}

/// <summary>The SOCKMAP lookup, <c>bpf_sk_assign</c> and <c>bpf_sk_release</c> of a fixed slot: the floor under every hit.</summary>
internal sealed class AssignFloorCandidate : ILookupCandidate
{
    /// <summary>The candidate's name, for the report.</summary>
    public const string CandidateName = "kernel floor";

    public string Name => CandidateName;

    public string Description =>
        "a program that only does what the kernel mandates for a hit: SOCKMAP lookup of a fixed slot, `bpf_sk_assign`, `bpf_sk_release` " +
        "(three helper calls, no matching)";

    public IReadOnlyList<int> BindingCounts { get; } = [0];

    public PreparedCandidate Build(int bindingsCount, LookupShape shape)
    {
        var resources = new Disposables();
        try
        {
            var target = resources.Add(TestRunSocket.Open(shape));
            var sockets = resources.Add(BpfMap.Create(new MapSpec { Name = "bench_floor", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 }));
            sockets.UpdateSocket(BitConverter.GetBytes(0u), new FileDescriptor((int)target.Socket.Handle, ownsHandle: false));
            var program = resources.Add(BpfProgram.Load(FloorPrograms.AssignSpec, new Dictionary<string, BpfMap> { [FloorPrograms.SocketsMap] = sockets }));
            var cookie = sockets.LookupSocketCookie(BitConverter.GetBytes(0u)) ?? throw new InvalidOperationException("the floor's socket is not in its map");
            var remote = new IPEndPoint(BenchmarkAddresses.Sender(shape), BenchmarkAddresses.FirstSourcePort);
            var local = new IPEndPoint(BenchmarkAddresses.Receiver(shape), BenchmarkAddresses.ServicePort);
            return new PreparedCandidate(program, [new("hit", new SkLookupTestInput(shape.Protocol, remote, local), SkAction.Pass, cookie)], resources);
        }
        catch
        {
            resources.Dispose();
            throw;
        }
    }
}
