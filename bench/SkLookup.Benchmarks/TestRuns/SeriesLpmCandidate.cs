using System.Net;
using SkLookup.Benchmarks.Programs;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>The series' benchmark program (<see cref="SeriesLpmProgram"/>): hit = exact-port entry found, miss = both trie lookups miss.</summary>
internal sealed class SeriesLpmCandidate : ILookupCandidate
{
    public string Name => "series-lpm";

    public string Description =>
        "the series' benchmark shape (inet-tool's inet-kern.c): LPM_TRIE lookup of {protocol, port, address} → socket index, " +
        "on a miss a second lookup with port 0, then SOCKMAP lookup + bpf_sk_assign; written with our Assembler";

    public IReadOnlyList<int> BindingCounts { get; } = [Flood.FloodConfigurations.SeriesBindings];

    public PreparedCandidate Build(int bindingsCount, LookupShape shape)
    {
        var resources = new Disposables();
        try
        {
            var target = resources.Add(TestRunSocket.Open(shape));
            var receiver = BenchmarkAddresses.Receiver(shape);
            var steered = new LpmBinding(shape.Protocol, receiver, shape.IsIPv6 ? 128 : 32, BenchmarkAddresses.ServicePort, SocketIndex: 0);
            var program = resources.Add(SeriesLpmProgram.Load(bindingsCount, [steered]));
            program.RegisterSocket(0, target.Socket);
            var remote = new IPEndPoint(BenchmarkAddresses.Sender(shape), BenchmarkAddresses.FirstSourcePort);
            LookupCase[] cases =
            [
                new("hit", new SkLookupTestInput(shape.Protocol, remote, new IPEndPoint(receiver, BenchmarkAddresses.ServicePort)),
                    SkAction.Pass, program.SocketCookie(0)),
                new("miss", new SkLookupTestInput(shape.Protocol, remote, new IPEndPoint(receiver, BenchmarkAddresses.UnboundPort)),
                    SkAction.Pass, 0),
            ];
            return new PreparedCandidate(program.Program, cases, resources);
        }
        catch
        {
            resources.Dispose();
            throw;
        }
    }
}
