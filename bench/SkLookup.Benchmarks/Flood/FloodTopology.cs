using System.Net.NetworkInformation;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// Two private namespaces, the receiver and the flood source, joined by a veth pair with documentation
/// addresses. Packets the source sends on its end are processed on the receiver's CPU (RPS on the
/// receiver's end points there), and the receiver's replies (SYN-ACKs) are sent to a link-layer address
/// nobody has, so the source's stack drops them on arrival, on the source's CPU, instead of answering
/// with RSTs that would add to the receiver's load. Disposing kills both namespaces, and the veth with them.
/// </summary>
internal sealed class FloodTopology : IDisposable
{
    /// <summary>The receiver's and the source's interface names.</summary>
    public const string ReceiverDevice = "veth-rx", SourceDevice = "veth-src";

    /// <summary>Fixed, locally administered MAC addresses.</summary>
    public static readonly PhysicalAddress ReceiverMac = PhysicalAddress.Parse("02-00-00-00-00-01"),
        SourceMac = PhysicalAddress.Parse("02-00-00-00-00-02"),
        NowhereMac = PhysicalAddress.Parse("02-00-00-00-00-99");

    private FloodTopology(NetworkNamespace receiver, NetworkNamespace source, int receiverCpu, int sourceCpu)
    {
        Receiver = receiver;
        Source = source;
        ReceiverCpu = receiverCpu;
        SourceCpu = sourceCpu;
    }

    /// <summary>The receiver's namespace.</summary>
    public NetworkNamespace Receiver { get; }

    /// <summary>The flood source's namespace.</summary>
    public NetworkNamespace Source { get; }

    /// <summary>The CPU that processes received packets (RPS target of the receiver's veth).</summary>
    public int ReceiverCpu { get; }

    /// <summary>The CPU the sender thread runs on, which also drops the receiver's replies.</summary>
    public int SourceCpu { get; }

    /// <summary>What was set up, for the report.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Creates both namespaces and the link between them, with RPS as <paramref name="layout"/> wants.</summary>
    public static FloodTopology Create(FloodLayout layout, int receiverCpu, int sourceCpu)
    {
        var receiver = NetworkNamespace.CreatePrivate();
        NetworkNamespace? source = null;
        try
        {
            source = NetworkNamespace.CreatePrivate();
            var topology = new FloodTopology(receiver, source, receiverCpu, sourceCpu);
            topology.Configure(layout);
            return topology;
        }
        catch
        {
            source?.Dispose();
            receiver.Dispose();
            throw;
        }
    }

    private void Configure(FloodLayout layout)
    {
        // Created inside the receiver's namespace, with the peer born straight into the source's.
        NetnsCommand.Ip(Receiver, $"link add {ReceiverDevice} address {Colon(ReceiverMac)} type veth peer name {SourceDevice} address {Colon(SourceMac)} netns {NetnsCommand.PathOf(Source)}");
        NetnsCommand.Ip(Receiver, $"addr add {BenchmarkAddresses.ReceiverV4}/{BenchmarkAddresses.PrefixLengthV4} dev {ReceiverDevice}");
        NetnsCommand.Ip(Receiver, $"-6 addr add {BenchmarkAddresses.ReceiverV6}/{BenchmarkAddresses.PrefixLengthV6} dev {ReceiverDevice} nodad");
        NetnsCommand.Ip(Receiver, $"neigh replace {BenchmarkAddresses.SenderV4} lladdr {Colon(NowhereMac)} dev {ReceiverDevice} nud permanent");
        NetnsCommand.Ip(Receiver, $"-6 neigh replace {BenchmarkAddresses.SenderV6} lladdr {Colon(NowhereMac)} dev {ReceiverDevice} nud permanent");
        NetnsCommand.Ip(Receiver, $"link set {ReceiverDevice} up");
        // Loopback up: the any-port floods deliver through local routes on lo.
        NetnsCommand.Ip(Receiver, "link set lo up");
        NetnsCommand.Ip(Source, $"addr add {BenchmarkAddresses.SenderV4}/{BenchmarkAddresses.PrefixLengthV4} dev {SourceDevice}");
        NetnsCommand.Ip(Source, $"-6 addr add {BenchmarkAddresses.SenderV6}/{BenchmarkAddresses.PrefixLengthV6} dev {SourceDevice} nodad");
        NetnsCommand.Ip(Source, $"link set {SourceDevice} up");

        // SYN cookies always on, as in the series. The sysctl is per namespace: this is the receiver's.
        Receiver.Run(() => File.WriteAllText("/proc/sys/net/ipv4/tcp_syncookies", "2"));
        Notes.Add("net.ipv4.tcp_syncookies=2 in the receiver's namespace");

        if (layout == FloodLayout.TwoCpus)
        {
            Notes.Add($"{ReceiverDevice} rps_cpus = {SetRps(Receiver, ReceiverDevice, 1UL << ReceiverCpu)} (receive path on CPU {ReceiverCpu})");
            Notes.Add($"{SourceDevice} rps_cpus = {SetRps(Source, SourceDevice, 1UL << SourceCpu)} (the receiver's replies dropped on CPU {SourceCpu})");
        }
        else
        {
            Notes.Add($"{ReceiverDevice} and {SourceDevice} rps_cpus = {SetRps(Receiver, ReceiverDevice, 0)} / {SetRps(Source, SourceDevice, 0)} (no RPS: each packet is processed by the CPU that sent it, CPU {SourceCpu})");
        }
    }

    // RPS sends every packet a veth receives to the backlog of the CPU in the mask. Without it, a veth
    // processes a packet on the CPU that sent it, and sender and receiver would share one CPU.
    private static string SetRps(NetworkNamespace netns, string device, ulong cpuMask)
    {
        var mask = cpuMask.ToString("x");
        var output = NetnsCommand.ShellWithOwnSysfs(netns,
            $"for queue in /sys/class/net/{device}/queues/rx-*; do echo {mask} > \"$queue/rps_cpus\"; done\n" +
            $"cat /sys/class/net/{device}/queues/rx-*/rps_cpus | tr '\\n' ' '");
        return output.Trim();
    }

    private static string Colon(PhysicalAddress address) => string.Join(':', address.GetAddressBytes().Select(b => b.ToString("x2")));

    public void Dispose()
    {
        Source.Dispose();
        Receiver.Dispose();
    }
}
