using System.Diagnostics;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// The receiver's counters at one moment: its veth's received packets and drops (<c>/proc/net/dev</c>),
/// the count of packets its stack finished with (<c>nstat</c>'s counters from <c>/proc/net/netstat</c>,
/// <c>snmp</c> and <c>snmp6</c>), all read from a thread inside the receiver's namespace through
/// <c>/proc/thread-self/net</c>, the CPUs' time from <c>/proc/stat</c>, and the sender thread's exact CPU time.
/// </summary>
internal sealed record CounterSnapshot(long Timestamp, long RxPackets, long RxDropped, long Processed, CpuTimes ReceiverCpu, CpuTimes SourceCpu, long SenderSent, long SenderCpuNs)
{
    /// <summary>
    /// The counter that grows once per flood packet the stack fully handled: a SYN cookie sent for TCP;
    /// for UDP, InErrors, which is where the UDP receive path counts a datagram the socket filter dropped.
    /// </summary>
    public static string ProcessedCounter(LookupShape shape) => shape.IsTcp ? "TcpExt.SyncookiesSent" : shape.IsIPv6 ? "Udp6.InErrors" : "Udp.InErrors";

    /// <summary>Takes a snapshot.</summary>
    public static CounterSnapshot Take(NetworkNamespace receiver, string device, LookupShape shape, int receiverCpu, int sourceCpu, PacketSender sender)
    {
        var counter = ProcessedCounter(shape);
        var (rxPackets, rxDropped, processed) = receiver.Run(() =>
        {
            var (packets, dropped) = ReadDevice(device);
            var counters = ReadNetCounters();
            return (packets, dropped, counters.TryGetValue(counter, out var value) ? value : throw new InvalidOperationException($"counter {counter} not found"));
        });
        var timestamp = Stopwatch.GetTimestamp();
        var cpus = CpuTimes.ReadAll();
        return new CounterSnapshot(timestamp, rxPackets, rxDropped, processed, cpus[receiverCpu], cpus[sourceCpu], sender.Sent, sender.CpuTimeNs);
    }

    /// <summary>Received packets and drops of <paramref name="device"/> in the calling thread's namespace.</summary>
    public static (long Packets, long Dropped) ReadDevice(string device)
    {
        foreach (var line in File.ReadLines("/proc/thread-self/net/dev"))
        {
            var colon = line.IndexOf(':');
            if (colon < 0 || line[..colon].Trim() != device)
                continue;
            // Receive columns: bytes packets errs drop fifo frame compressed multicast.
            var fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (long.Parse(fields[1]), long.Parse(fields[3]));
        }
        throw new InvalidOperationException($"interface {device} not found in /proc/thread-self/net/dev");
    }

    /// <summary>
    /// Every SNMP and extended counter of the calling thread's namespace, named as nstat names them but with
    /// a dot: "TcpExt.SyncookiesSent", "Udp.InErrors", "Udp6.InErrors".
    /// </summary>
    public static Dictionary<string, long> ReadNetCounters()
    {
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var file in new[] { "/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp" })
        {
            // Pairs of lines: "Prefix: Name1 Name2 ..." then "Prefix: value1 value2 ...".
            var lines = File.ReadAllLines(file);
            for (var i = 0; i + 1 < lines.Length; i += 2)
            {
                var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var prefix = names[0].TrimEnd(':');
                for (var j = 1; j < names.Length && j < values.Length; j++)
                    counters[$"{prefix}.{names[j]}"] = long.Parse(values[j]);
            }
        }
        foreach (var line in File.ReadLines("/proc/thread-self/net/snmp6"))
        {
            // "Udp6InErrors    12": the protocol prefix is glued to the name.
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 2)
                continue;
            var split = fields[0].StartsWith("Udp6", StringComparison.Ordinal) || fields[0].StartsWith("Tcp6", StringComparison.Ordinal) || fields[0].StartsWith("Ip6", StringComparison.Ordinal)
                ? fields[0].IndexOf('6') + 1
                : 0;
            var name = split > 0 ? $"{fields[0][..split]}.{fields[0][split..]}" : fields[0];
            counters[name] = long.Parse(fields[1]);
        }
        return counters;
    }
}
