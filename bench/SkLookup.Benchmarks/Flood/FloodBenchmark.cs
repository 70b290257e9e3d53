using SkLookup.Bpf;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// The series' rx pps benchmark in two namespaces: for each flood (tcp4 SYN, tcp6 SYN, udp4 and udp6
/// zero-length, or the any-port floods), the source floods continuously while the configurations take
/// turns on the receiver, round-robin (the starting configuration rotates each round, so none always
/// runs first), each measured for <see cref="FloodSettings.Duration"/> after <see cref="FloodSettings.Settle"/>.
/// </summary>
internal sealed class FloodBenchmark(FloodSettings settings, Action<string> log)
{
    /// <summary>Runs every flood against every configuration and returns the runs.</summary>
    public FloodResults Run(IReadOnlyList<FloodTarget> targets, IReadOnlyList<FloodConfiguration> configurations)
    {
        var runs = new List<FloodRun>();
        using var topology = FloodTopology.Create(settings.Layout, settings.ReceiverCpu, settings.SourceCpu);
        foreach (var note in topology.Notes)
            log($"  {note}");
        foreach (var target in targets)
        {
            using var receiver = FloodReceiver.Open(topology.Receiver, target);
            var frames = FloodFrames.Build(target, FloodTopology.SourceMac, FloodTopology.ReceiverMac);
            using var sender = PacketSender.Start(topology.Source, FloodTopology.SourceDevice, frames, settings.SourceCpu);
            Thread.Sleep(settings.Warmup);
            for (var round = 0; round < settings.Rounds; round++)
            {
                for (var turn = 0; turn < configurations.Count; turn++)
                {
                    var configuration = configurations[(round + turn) % configurations.Count];
                    using (configuration.Attach(receiver))
                    {
                        Thread.Sleep(settings.Settle);
                        if (round == 0)
                            CheckFloodArrives(topology, receiver, sender, configuration);
                        var start = Snapshot(topology, target, sender);
                        Thread.Sleep(settings.Duration);
                        var end = Snapshot(topology, target, sender);
                        sender.ThrowIfFailed();
                        var run = new FloodRun(settings.Layout, target, configuration.Name, round, start, end);
                        runs.Add(run);
                        log($"  {settings.Layout} {target} round {round + 1}/{settings.Rounds} {configuration.Name,-16} rx {run.RxPps,10:N0} pps, processed {run.ProcessedPps,10:N0} pps, " +
                            $"sent {run.SentPps,10:N0} pps, veth drops {run.DroppedPps,9:N0} pps, rx CPU busy {run.ReceiverBusyShare:P0} (softirq {run.ReceiverSoftIrqShare:P0}), " +
                            $"{run.SoftIrqNsPerPacket:N0} softirq ns/packet, sender thread {run.SenderCpuNsPerPacket:N0} ns/packet ({run.SenderOnCpuShare:P0} on CPU)");
                    }
                }
            }
        }
        return new FloodResults(settings, runs, topology.Notes);
    }

    private CounterSnapshot Snapshot(FloodTopology topology, FloodTarget target, PacketSender sender) =>
        CounterSnapshot.Take(topology.Receiver, FloodTopology.ReceiverDevice, target.Shape, settings.ReceiverCpu, settings.SourceCpu, sender);

    // Before a configuration is first measured, the flood must reach the socket through it: a wrong checksum,
    // address or steering rule would show here as packets received but not processed.
    private void CheckFloodArrives(FloodTopology topology, FloodReceiver receiver, PacketSender sender, FloodConfiguration configuration)
    {
        sender.ThrowIfFailed();
        var start = Snapshot(topology, receiver.Target, sender);
        Thread.Sleep(TimeSpan.FromMilliseconds(300));
        var end = Snapshot(topology, receiver.Target, sender);
        var run = new FloodRun(settings.Layout, receiver.Target, "check", -1, start, end);
        if (run.ProcessedPps < 0.5 * run.RxPps || run.RxPps <= 0)
        {
            var counters = topology.Receiver.Run(CounterSnapshot.ReadNetCounters);
            var interesting = string.Join(", ", counters.Where(c => c.Value != 0 && (c.Key.Contains("Err") || c.Key.Contains("Csum") || c.Key.Contains("Drop"))).Select(c => $"{c.Key}={c.Value}"));
            throw new InvalidOperationException($"{receiver.Target} flood with {configuration.Name}: the receiver took in {run.RxPps:N0} pps but its stack finished only {run.ProcessedPps:N0} pps " +
                $"({CounterSnapshot.ProcessedCounter(receiver.Shape)}); nonzero error counters: {interesting}");
        }
    }
}
