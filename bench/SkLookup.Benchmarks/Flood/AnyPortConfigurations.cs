using System.Net;
using SkLookup.Benchmarks.Dispatching;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// Two ways to send every port of <see cref="FloodTarget.AnyPortAddress"/> to one socket, compared under the
/// any-port floods: SkLookup's dispatcher with one any-port binding, and nftables TPROXY. Both act only in
/// the receiver's namespace: the routes, the policy rule and the nftables table are its own and go with
/// the configuration.
/// </summary>
internal static class AnyPortConfigurations
{
    /// <summary>The nftables table TPROXY's rule lives in, in the receiver's namespace.</summary>
    public const string TableName = "sklookup_bench";

    /// <summary>The packet mark TPROXY sets, and the routing table the policy rule sends marked packets to.</summary>
    public const int Mark = 1, RoutingTable = 100;

    /// <summary>The dispatcher: one binding, the address on any port, to the receiving socket; a local route makes the address local.</summary>
    public static FloodConfiguration Dispatcher { get; } = new("dispatcher-any", "dispatcher, 1 any-port binding",
        $"SkLookup's dispatcher with the one binding {FloodTarget.AnyPortAddress}/32 any port, whose destination is the receiving socket; " +
        $"a `local {FloodTarget.AnyPortAddress}/32 dev lo` route in the receiver's namespace makes the stack deliver the address locally, " +
        "where the socket lookup (and so sk_lookup) runs",
        AttachDispatcher);

    /// <summary>nftables TPROXY: a prerouting rule assigns the transparent socket, a policy route delivers marked packets locally.</summary>
    public static FloodConfiguration Tproxy { get; } = new("nft-tproxy", "nftables TPROXY, 1 rule",
        $"an nftables table in the receiver's namespace with one rule in a prerouting chain at mangle priority, " +
        $"`ip daddr {FloodTarget.AnyPortAddress} meta l4proto PROTO tproxy to {BenchmarkAddresses.ReceiverV4}:{BenchmarkAddresses.ServicePort} meta mark set {Mark} accept`, " +
        $"the policy route `ip rule add fwmark {Mark} lookup {RoutingTable}` with `local 0.0.0.0/0 dev lo table {RoutingTable}`, and IP_TRANSPARENT on the receiving socket",
        AttachTproxy);

    /// <summary>Both, dispatcher first.</summary>
    public static IReadOnlyList<FloodConfiguration> All { get; } = [Dispatcher, Tproxy];

    private static IDisposable AttachDispatcher(FloodReceiver receiver)
    {
        var attached = new Disposables();
        try
        {
            var route = $"local {FloodTarget.AnyPortAddress}/32 dev lo";
            NetnsCommand.Ip(receiver.Netns, $"route add {route}");
            attached.OnDispose(() => NetnsCommand.Ip(receiver.Netns, $"route del {route}"));
            var bindings = BindingSet.Generate(receiver.Shape, 1, BindingMix.Host, FloodTarget.AnyPortAddress, steeredPort: 0);
            var dispatcher = attached.Add(DispatcherFixture.Load(bindings));
            dispatcher.RegisterSocket(BindingSet.SteeredId, receiver.Socket);
            FloodConfigurations.CheckVerdict(dispatcher.Program, receiver, dispatcher.SocketCookie(BindingSet.SteeredId), "dispatcher (any port)");
            attached.Add(NetNsLink.Attach(dispatcher.Program, receiver.Netns));
            return attached;
        }
        catch
        {
            attached.Dispose();
            throw;
        }
    }

    private static IDisposable AttachTproxy(FloodReceiver receiver)
    {
        var attached = new Disposables();
        try
        {
            var protocol = receiver.Shape.IsTcp ? "tcp" : "udp";
            var socket = receiver.SocketAddress;
            var rules = Path.GetTempFileName();
            try
            {
                File.WriteAllText(rules, $$"""
                    table ip {{TableName}} {
                        chain prerouting {
                            type filter hook prerouting priority mangle; policy accept;
                            ip daddr {{FloodTarget.AnyPortAddress}} meta l4proto {{protocol}} tproxy to {{socket.Address}}:{{socket.Port}} meta mark set {{Mark}} accept
                        }
                    }
                    """);
                NetnsCommand.Command(receiver.Netns, "nft", "-f", rules);
            }
            finally
            {
                File.Delete(rules);
            }
            attached.OnDispose(() => NetnsCommand.Command(receiver.Netns, "nft", "delete", "table", "ip", TableName));
            NetnsCommand.Ip(receiver.Netns, $"rule add fwmark {Mark} lookup {RoutingTable}");
            attached.OnDispose(() => NetnsCommand.Ip(receiver.Netns, $"rule del fwmark {Mark} lookup {RoutingTable}"));
            NetnsCommand.Ip(receiver.Netns, $"route add local 0.0.0.0/0 dev lo table {RoutingTable}");
            attached.OnDispose(() => NetnsCommand.Ip(receiver.Netns, $"route del local 0.0.0.0/0 dev lo table {RoutingTable}"));
            return attached;
        }
        catch
        {
            attached.Dispose();
            throw;
        }
    }
}
