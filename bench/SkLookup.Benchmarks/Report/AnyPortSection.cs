using System.Text;
using SkLookup.Benchmarks.Flood;
using static SkLookup.Benchmarks.Report.Format;

namespace SkLookup.Benchmarks.Report;

/// <summary>Section 4 of BENCHMARKS.md: "any port to one socket" with the dispatcher and with nftables TPROXY.</summary>
internal static class AnyPortSection
{
    public static void Render(StringBuilder text, BenchmarkReport report)
    {
        var twoCpus = report.AnyPortFloods.FirstOrDefault(results => results.Settings.Layout == FloodLayout.TwoCpus);
        var oneCpu = report.AnyPortFloods.FirstOrDefault(results => results.Settings.Layout == FloodLayout.OneCpu);
        var baseline = AnyPortConfigurations.All[0];
        text.AppendLine("## 4. The alternative: nftables TPROXY for \"any port to one socket\"");
        text.AppendLine();
        text.AppendLine($"**Setup.** The namespaces, veth, sender, receiving socket and counters of section 2, but the flood goes to {FloodTarget.AnyPortAddress}, " +
                        $"an address no interface has, on {FloodTarget.AnyPortCount:N0} destination ports ({FloodTarget.AnyPortFirst}–{FloodTarget.AnyPortFirst + FloodTarget.AnyPortCount - 1}, " +
                        $"one per frame in turn) from {BenchmarkAddresses.SourcePortCount:N0} source ports, and every packet must reach the one socket bound to " +
                        $"{BenchmarkAddresses.ReceiverV4}:{BenchmarkAddresses.ServicePort} (a listener with SYN cookies for TCP, a drop-all filtered socket for UDP), " +
                        "which has IP_TRANSPARENT set in both configurations so that the socket is the same. Everything each configuration sets up (route, " +
                        "policy rule, nftables table, program) is created inside the receiver's namespace (with `nsenter --net=/proc/PID/fd/N`) when it is " +
                        "attached and removed when it is detached. The configurations take turns under one continuous flood, as in section 2; Δ is against " +
                        $"*{baseline.Label}*. Configurations:");
        foreach (var configuration in AnyPortConfigurations.All)
            text.AppendLine($"- *{configuration.Label}*: {configuration.Description}.");
        text.AppendLine();
        text.AppendLine("*Handled* is the share of the packets the receiver took in that the receiving socket handled (SYN cookies sent, or datagrams " +
                        "its filter dropped), over all runs of both layouts: a configuration that failed to steer would show far below 100% (and the " +
                        "benchmark stops if a configuration's first check finds less than half).");
        text.AppendLine();
        var targets = (twoCpus ?? oneCpu)!.Runs.Select(run => run.Target).Distinct().ToList();
        text.AppendLine("| flood | configuration | two CPUs: rx pps (mean ± sstdev) | Δ rx pps | two CPUs: softirq ns/packet (estimate) | " +
                        "one CPU: CPU ns/packet (mean ± sstdev) | Δ ns/packet | Δ | handled | runs (two CPUs / one CPU) |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var target in targets)
        {
            foreach (var configuration in AnyPortConfigurations.All)
            {
                string pps = "-", ppsDelta = "-", softIrq = "-", cost = "-", costDelta = "-", costShare = "-";
                var runs2 = 0;
                var runs1 = 0;
                if (twoCpus is not null)
                {
                    var measured = twoCpus.Summarise(target.Shape, configuration.Name, run => run.RxPps);
                    var reference = twoCpus.Summarise(target.Shape, baseline.Name, run => run.RxPps);
                    var estimate = twoCpus.Summarise(target.Shape, configuration.Name, run => run.SoftIrqNsPerPacket);
                    pps = $"{measured.Mean:N0} ± {measured.RelativeStandardDeviation * 100:F1}%";
                    ppsDelta = configuration == baseline ? "-" : Percent(measured.Mean / reference.Mean - 1) + NoiseMark(measured, reference) +
                        (twoCpus.ReceiverSaturated(target.Shape) ? "" : " (sender-bound)");
                    softIrq = $"{estimate.Mean:N0} ± {estimate.StandardDeviation:N0}";
                    runs2 = measured.Count;
                }
                if (oneCpu is not null)
                {
                    var measured = oneCpu.Summarise(target.Shape, configuration.Name, run => run.SenderCpuNsPerPacket);
                    var reference = oneCpu.Summarise(target.Shape, baseline.Name, run => run.SenderCpuNsPerPacket);
                    cost = $"{measured.Mean:N0} ± {measured.StandardDeviation:N0}";
                    costDelta = configuration == baseline ? "-" : $"{measured.Mean - reference.Mean:+0;-0}{NoiseMark(measured, reference)}";
                    costShare = configuration == baseline ? "-" : Percent(measured.Mean / reference.Mean - 1);
                    runs1 = measured.Count;
                }
                var all = report.AnyPortFloods.SelectMany(results => results.Of(target.Shape, configuration.Name)).ToList();
                var handled = all.Sum(run => run.End.Processed - run.Start.Processed) / (double)Math.Max(1, all.Sum(run => run.End.RxPackets - run.Start.RxPackets));
                text.AppendLine($"| {target.Shape} | {configuration.Label} | {pps} | {ppsDelta} | {softIrq} | {cost} | {costDelta} | {costShare} | {handled * 100:F1}% | {runs2} / {runs1} |");
            }
        }
        text.AppendLine();
        text.AppendLine("*Two CPUs* and *one CPU* are the layouts of sections 2a and 2b (the same rounds, settle and run times). *Sender-bound*: the " +
                        "receiving CPU was busy less than " + $"{FloodResults.SaturatedBusyShare * 100:F0}" + "% of the time in that flood, so rx pps follow the sender and " +
                        "the softirq estimate undercounts; the one-CPU figures are the exact ones. " + WithinNoiseNote);
        text.AppendLine();
    }
}
