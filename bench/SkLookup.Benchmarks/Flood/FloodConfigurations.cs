using SkLookup.Benchmarks.Dispatching;
using SkLookup.Benchmarks.Programs;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// The configurations the flood benchmark runs, the first being the baseline that Δ is taken against.
/// A new one is one more entry in <see cref="All"/>.
/// </summary>
internal static class FloodConfigurations
{
    /// <summary>How many bindings the series' program is loaded with.</summary>
    public const int SeriesBindings = 200;

    /// <summary>Nothing attached: the hook's static key is off, so sk_lookup costs nothing.</summary>
    public static FloodConfiguration NoProgram { get; } = new("none", "no SK_LOOKUP prog attached",
        "nothing attached to the receiver's namespace", _ => new Disposables());

    /// <summary>A program that returns SK_PASS: the cost of running the hook at all.</summary>
    public static FloodConfiguration NoOp { get; } = new("noop", "no-op SK_LOOKUP prog attached",
        "a two-instruction program that returns SK_PASS", receiver =>
        {
            var attached = new Disposables();
            try
            {
                var program = attached.Add(NoOpProgram.Load());
                attached.Add(NetNsLink.Attach(program, receiver.Netns));
                return attached;
            }
            catch
            {
                attached.Dispose();
                throw;
            }
        });

    /// <summary>The series' program, with the flood's destination among its 200 bindings, steering to the receiving socket.</summary>
    public static FloodConfiguration SeriesLpmHit { get; } = new("series-lpm-hit", $"series LPM prog ({SeriesBindings} entries), hit",
        $"the series' LPM-trie program with {SeriesBindings} bindings, one of which is the flood's destination: every packet is steered to the receiving socket",
        receiver => AttachSeriesLpm(receiver, BenchmarkAddresses.ServicePort));

    /// <summary>The series' program with 200 bindings none of which matches: two trie lookups, then the normal lookup.</summary>
    public static FloodConfiguration SeriesLpmMiss { get; } = new("series-lpm-miss", $"series LPM prog ({SeriesBindings} entries), miss",
        $"the same program and {SeriesBindings} bindings, none matching the flood (its steered binding is on port {BenchmarkAddresses.UnboundPort}): both trie lookups miss and the normal lookup finds the socket",
        receiver => AttachSeriesLpm(receiver, BenchmarkAddresses.UnboundPort));

    /// <summary>How many bindings the dispatcher is loaded with: as many as the series' program has entries.</summary>
    public const int DispatcherBindings = SeriesBindings;

    /// <summary>SkLookup's dispatcher, with the flood's destination among its 200 bindings, steering to the receiving socket.</summary>
    public static FloodConfiguration DispatcherHit { get; } = new("dispatcher-hit", $"dispatcher ({DispatcherBindings} bindings), hit",
        $"SkLookup's generated dispatcher with {DispatcherBindings} bindings of the flood's class (host prefixes; fillers in 10.0.0.0/8 or fd00::/8 on other ports), " +
        "one of which is the flood's destination, with the receiving socket registered as its destination: every packet is steered to it",
        receiver => AttachDispatcher(receiver, BenchmarkAddresses.ServicePort));

    /// <summary>The dispatcher with 200 bindings none of which matches: the program passes and the normal lookup finds the socket.</summary>
    public static FloodConfiguration DispatcherMiss { get; } = new("dispatcher-miss", $"dispatcher ({DispatcherBindings} bindings), miss",
        $"the same dispatcher and {DispatcherBindings} bindings, none matching the flood (its steered binding is on port {BenchmarkAddresses.UnboundPort}): " +
        "the program passes and the normal lookup finds the socket",
        receiver => AttachDispatcher(receiver, BenchmarkAddresses.UnboundPort));

    /// <summary>Every configuration, baseline first.</summary>
    public static IReadOnlyList<FloodConfiguration> All { get; } =
    [
        NoProgram,
        NoOp,
        SeriesLpmHit,
        SeriesLpmMiss,
        DispatcherHit,
        DispatcherMiss,
    ];

    private static IDisposable AttachDispatcher(FloodReceiver receiver, ushort steeredPort)
    {
        var attached = new Disposables();
        try
        {
            var bindings = BindingSet.Generate(receiver.Shape, DispatcherBindings, BindingMix.Host, receiver.Destination.Address, steeredPort);
            var dispatcher = attached.Add(DispatcherFixture.Load(bindings));
            dispatcher.RegisterSocket(BindingSet.SteeredId, receiver.Socket);
            var steers = steeredPort == receiver.Destination.Port;
            CheckVerdict(dispatcher.Program, receiver, steers ? dispatcher.SocketCookie(BindingSet.SteeredId) : 0, "dispatcher");
            attached.Add(NetNsLink.Attach(dispatcher.Program, receiver.Netns));
            return attached;
        }
        catch
        {
            attached.Dispose();
            throw;
        }
    }

    private static IDisposable AttachSeriesLpm(FloodReceiver receiver, int steeredPort)
    {
        var attached = new Disposables();
        try
        {
            var prefixLength = receiver.Shape.IsIPv6 ? 128 : 32;
            var steered = new LpmBinding(receiver.Shape.Protocol, receiver.Destination.Address, prefixLength, steeredPort, SocketIndex: 0);
            var program = attached.Add(SeriesLpmProgram.Load(SeriesBindings, [steered]));
            program.RegisterSocket(0, receiver.Socket);
            CheckVerdict(program.Program, receiver, steeredPort == BenchmarkAddresses.ServicePort ? program.SocketCookie(0) : 0, "series LPM program");
            attached.Add(NetNsLink.Attach(program.Program, receiver.Netns));
            return attached;
        }
        catch
        {
            attached.Dispose();
            throw;
        }
    }

    // A test run on the flood's own 4-tuple proves the program does what the row says before it is measured.
    internal static void CheckVerdict(BpfProgram program, FloodReceiver receiver, ulong expectedCookie, string what)
    {
        var outcome = program.TestRun(new SkLookupTestInput(receiver.Shape.Protocol, receiver.Source, receiver.Destination));
        if (outcome.Verdict != SkAction.Pass || outcome.SelectedSocketCookie != expectedCookie)
            throw new InvalidOperationException($"{what} on {receiver.Target}: expected SK_PASS with cookie {expectedCookie}, got {outcome.Verdict} with {outcome.SelectedSocketCookie}");
    }
}
