using System.Diagnostics;
using SkLookup.Benchmarks.Machine;

namespace SkLookup.Benchmarks.Flood;

/// <summary>One measured run of one configuration under one flood: the difference of two snapshots.</summary>
internal sealed record FloodRun(FloodLayout Layout, FloodTarget Target, string Configuration, int Round, CounterSnapshot Start, CounterSnapshot End)
{
    /// <summary>The flood's protocol and family.</summary>
    public LookupShape Shape => Target.Shape;

    /// <summary>The measured time.</summary>
    public double Seconds => Stopwatch.GetElapsedTime(Start.Timestamp, End.Timestamp).TotalSeconds;

    /// <summary>Packets the receiver's veth took in per second (what <c>ifpps</c> reported in the series).</summary>
    public double RxPps => (End.RxPackets - Start.RxPackets) / Seconds;

    /// <summary>Packets per second the stack finished with (SYN cookies sent, or datagrams the filter dropped).</summary>
    public double ProcessedPps => (End.Processed - Start.Processed) / Seconds;

    /// <summary>Packets per second the veth refused because the receiving CPU's backlog was full.</summary>
    public double DroppedPps => (End.RxDropped - Start.RxDropped) / Seconds;

    /// <summary>Packets per second the sender got accepted by the kernel.</summary>
    public double SentPps => (End.SenderSent - Start.SenderSent) / Seconds;

    /// <summary>The receiving CPU's time over the run.</summary>
    public CpuTimes ReceiverCpu => End.ReceiverCpu - Start.ReceiverCpu;

    /// <summary>The source CPU's time over the run.</summary>
    public CpuTimes SourceCpu => End.SourceCpu - Start.SourceCpu;

    /// <summary>The share of the receiving CPU's time it was busy (any work, ours or not).</summary>
    public double ReceiverBusyShare => ReceiverCpu.Total == 0 ? 0 : (double)ReceiverCpu.Busy / ReceiverCpu.Total;

    /// <summary>The share of the receiving CPU's time in softirq (packet processing).</summary>
    public double ReceiverSoftIrqShare => ReceiverCpu.Total == 0 ? 0 : (double)ReceiverCpu.SoftIrq / ReceiverCpu.Total;

    /// <summary>The share of the source CPU's time it was busy.</summary>
    public double SourceBusyShare => SourceCpu.Total == 0 ? 0 : (double)SourceCpu.Busy / SourceCpu.Total;

    /// <summary>
    /// The sender thread's exact CPU time per processed packet, in ns. With <see cref="FloodLayout.OneCpu"/>
    /// that is the whole path, send and receive, since the veth delivers in the sender's own context and
    /// the kernel charges that softirq time to the thread, unless it accounts IRQ time apart
    /// (CONFIG_IRQ_TIME_ACCOUNTING): then the CPU's softirq time, which is exact in that case, is added.
    /// </summary>
    public double SenderCpuNsPerPacket
    {
        get
        {
            var processed = End.Processed - Start.Processed;
            var ns = (double)(End.SenderCpuNs - Start.SenderCpuNs);
            if (Layout == FloodLayout.OneCpu && KernelConfig.IrqTimeAccounting == true)
                ns += SourceCpu.SoftIrq / CpuTimes.TicksPerSecond * 1e9;
            return processed == 0 ? double.NaN : ns / processed;
        }
    }

    /// <summary>The share of the run's wall time the sender thread was on a CPU.</summary>
    public double SenderOnCpuShare => (End.SenderCpuNs - Start.SenderCpuNs) / (Seconds * 1e9);

    /// <summary>CPU time per processed packet on the receiving CPU: its softirq time over the packets processed, in ns.</summary>
    public double SoftIrqNsPerPacket
    {
        get
        {
            var processed = End.Processed - Start.Processed;
            return processed == 0 ? double.NaN : ReceiverCpu.SoftIrq / CpuTimes.TicksPerSecond * 1e9 / processed;
        }
    }
}
