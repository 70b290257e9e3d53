using SkLookup.Bpf;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// The series' rx pps benchmark in two namespaces: for each flood (tcp4 SYN, tcp6 SYN, udp4 and udp6
/// zero-length), the source floods continuously while the configurations take turns on the receiver,
/// round-robin (the starting configuration rotates each round, so none always runs first), each
/// measured for <see cref="FloodSettings.Duration"/> after <see cref="FloodSettings.Settle"/>.
/// </summary>
internal sealed class FloodBenchmark(FloodSettings settings, Action<string> log)
{
    /// <summary>Runs every flood against every configuration and returns the runs.</summary>
    public FloodResults Run(IReadOnlyList<LookupShape> shapes, IReadOnlyList<FloodConfiguration> configurations)
    {
        var runs = new List<FloodRun>();
        using var topology = FloodTopology.Create(settings.Layout, settings.ReceiverCpu, settings.SourceCpu);
        foreach (var note in topology.Notes)
            log($"  {note}");
        foreach (var shape in shapes)
        {
            using var receiver = FloodReceiver.Open(topology.Receiver, shape);
            var frames = FloodFrames.Build(shape, FloodTopology.SourceMac, FloodTopology.ReceiverMac);
            using var sender = PacketSender.Start(topology.Source, FloodTopology.SourceDevice, frames, settings.SourceCpu);
            Thread.Sleep(settings.Warmup);
            CheckFloodArrives(topology, receiver, sender);
            for (var round = 0; round < settings.Rounds; round++)
            {
                for (var turn = 0; turn < configurations.Count; turn++)
                {
                    var configuration = configurations[(round + turn) % configurations.Count];
                    using (configuration.Attach(receiver))
                    {
                        Thread.Sleep(settings.Settle);
                        var start = Snapshot(topology, shape, sender);
                        Thread.Sleep(settings.Duration);
                        var end = Snapshot(topology, shape, sender);
                        sender.ThrowIfFailed();
                        var run = new FloodRun(settings.Layout, shape, configuration.Name, round, start, end);
                        runs.Add(run);
                        log($"  {settings.Layout} {shape} round {round + 1}/{settings.Rounds} {configuration.Name,-16} rx {run.RxPps,10:N0} pps, processed {run.ProcessedPps,10:N0} pps, " +
                            $"sent {run.SentPps,10:N0} pps, veth drops {run.DroppedPps,9:N0} pps, rx CPU busy {run.ReceiverBusyShare:P0} (softirq {run.ReceiverSoftIrqShare:P0}), " +
                            $"{run.SoftIrqNsPerPacket:N0} softirq ns/packet, sender thread {run.SenderCpuNsPerPacket:N0} ns/packet ({run.SenderOnCpuShare:P0} on CPU)");
                    }
                }
            }
        }
        return new FloodResults(settings, runs, topology.Notes);
    }

    private CounterSnapshot Snapshot(FloodTopology topology, LookupShape shape, PacketSender sender) =>
        CounterSnapshot.Take(topology.Receiver, FloodTopology.ReceiverDevice, shape, settings.ReceiverCpu, settings.SourceCpu, sender);

    // Before measuring anything, the flood must reach the socket: a wrong checksum or address would show
    // here as packets received but not processed.
    private void CheckFloodArrives(FloodTopology topology, FloodReceiver receiver, PacketSender sender)
    {
        sender.ThrowIfFailed();
        var start = Snapshot(topology, receiver.Shape, sender);
        Thread.Sleep(TimeSpan.FromMilliseconds(300));
        var end = Snapshot(topology, receiver.Shape, sender);
        var run = new FloodRun(settings.Layout, receiver.Shape, "check", -1, start, end);
        if (run.ProcessedPps < 0.5 * run.RxPps || run.RxPps <= 0)
        {
            var counters = topology.Receiver.Run(CounterSnapshot.ReadNetCounters);
            var interesting = string.Join(", ", counters.Where(c => c.Value != 0 && (c.Key.Contains("Err") || c.Key.Contains("Csum") || c.Key.Contains("Drop"))).Select(c => $"{c.Key}={c.Value}"));
            throw new InvalidOperationException($"{receiver.Shape} flood: the receiver took in {run.RxPps:N0} pps but its stack finished only {run.ProcessedPps:N0} pps " +
                $"({CounterSnapshot.ProcessedCounter(receiver.Shape)}); nonzero error counters: {interesting}");
        }
    }
}
