using System.Net;
using SkLookup.Benchmarks.Dispatching;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>
/// SkLookup's dispatcher with N bindings of the looked-up traffic class in one <see cref="BindingMix"/>:
/// a hit (the steered binding), a miss on a port no binding names, and a miss on a port that bindings
/// name, on an address none covers (every probe of the class runs).
/// </summary>
internal sealed class DispatcherCandidate(BindingMix mix, IReadOnlyList<int> bindingCounts) : ILookupCandidate
{
    /// <summary>The case names of the three lookups.</summary>
    public const string Hit = "hit", Miss = "miss", MissBoundPort = "miss, port bound";

    /// <summary>The binding counts the dispatcher is measured at.</summary>
    public static readonly IReadOnlyList<int> AllCounts = [1, 200, 10_000, 100_000, 1_000_000];

    /// <summary>The mix of bindings.</summary>
    public BindingMix Mix { get; } = mix;

    public string Name => $"dispatcher {Mix.Name}";

    public string Description =>
        $"SkLookup's generated dispatcher (src/SkLookup/DataPlane) with N bindings of the looked-up class, {Mix.Describe(false)} " +
        $"(IPv6: {Mix.Describe(true)})";

    public IReadOnlyList<int> BindingCounts { get; } = bindingCounts;

    public PreparedCandidate Build(int bindingsCount, LookupShape shape)
    {
        var resources = new Disposables();
        try
        {
            var target = resources.Add(TestRunSocket.Open(shape));
            var bindings = BindingSet.Generate(shape, bindingsCount, Mix);
            var dispatcher = resources.Add(DispatcherFixture.Load(bindings));
            dispatcher.RegisterSocket(BindingSet.SteeredId, target.Socket);
            var receiver = BenchmarkAddresses.Receiver(shape);
            var remote = new IPEndPoint(BenchmarkAddresses.Sender(shape), BenchmarkAddresses.FirstSourcePort);
            LookupCase[] cases =
            [
                new(Hit, new SkLookupTestInput(shape.Protocol, remote, new IPEndPoint(receiver, BenchmarkAddresses.ServicePort)),
                    SkAction.Pass, dispatcher.SocketCookie(BindingSet.SteeredId)),
                new(Miss, new SkLookupTestInput(shape.Protocol, remote, new IPEndPoint(receiver, BenchmarkAddresses.UnboundPort)),
                    SkAction.Pass, 0),
                new(MissBoundPort, new SkLookupTestInput(shape.Protocol, remote, new IPEndPoint(BindingSet.MissAddress(shape), BenchmarkAddresses.ServicePort)),
                    SkAction.Pass, 0),
            ];
            return new PreparedCandidate(dispatcher.Program, cases, resources, $"built in {dispatcher.BuildTime.TotalSeconds:F2} s; {dispatcher.Shape}");
        }
        catch
        {
            resources.Dispose();
            throw;
        }
    }
}
