using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SkLookup.Cli.Demo;

namespace SkLookup.Cli.Commands;

/// <summary>
/// <c>sklookup demo</c>: the whole story in a private namespace: load, bind, register, send real traffic,
/// show where it arrived and the counters, and clean up (always, even on failure).
/// </summary>
internal static class DemoCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var command = new Command("demo", "Steer real TCP and UDP traffic in a private network namespace and show where it arrived");
        command.HelpFooter("""
            The demo makes its own network namespace and bpffs mount (--netns and --bpffs are ignored), binds
              web    tcp+udp  192.0.2.0/24 and 2001:db8::/64, port 80
              proxy  tcp+udp  198.51.100.1 and 2001:db8:1::1, every port
            registers loopback sockets for both labels, sends connections and datagrams to many addresses and
            ports (and one that matches no binding), prints where each arrived and the counters, and removes it all.
            """);
        return command.RunsAsync("demo", context => Task.Run(() => Run(context), context.Cancellation));
    }

    private static ExitCode Run(CommandContext context)
    {
        var text = context.Json ? TextWriter.Null : context.Out;
        var environment = DemoEnvironment.Create();
        List<DemoDelivery> deliveries;
        IReadOnlyList<DestinationStatus> destinations;
        IReadOnlyList<Binding> bindings;
        uint programId;
        try
        {
            text.WriteLine($"sk_lookup demo in a private network namespace (netns {environment.NetNs.Inode}), with a private bpffs at {environment.BpfFs}");
            text.WriteLine($"local routes: {string.Join(", ", DemoScenario.LocalRoutes)} (dev lo)");
            text.WriteLine();

            using (var dispatcher = Dispatcher.Load(environment.NetNs, environment.BpfFs))
            {
                programId = dispatcher.Program.Id;
                text.WriteLine($"1. loaded the dispatcher: program {dispatcher.Program.Id} ({dispatcher.Program.Name}), state at {dispatcher.StatePath}");
                foreach (var binding in DemoScenario.Bindings())
                    dispatcher.AddBinding(binding);
                bindings = dispatcher.Bindings();
                text.WriteLine("2. bound, most specific first:");
                JsonViews.BindingTable(bindings).Write(text, "   ");

                var sockets = new TextTable("label", "socket", "cookie");
                foreach (var (label, endPoint) in DemoScenario.Sockets)
                {
                    foreach (var protocol in new[] { Protocol.Tcp, Protocol.Udp })
                    {
                        var socket = environment.Open(label, protocol, endPoint);
                        var status = dispatcher.RegisterSocket(label, socket.Socket);
                        sockets.Add(label, socket.Description, status.SocketCookie is { } cookie ? JsonViews.Number(cookie) : "-");
                    }
                }
                text.WriteLine("3. registered sockets on loopback ports that no binding names (sk_lookup chooses them anyway):");
                sockets.Write(text, "   ");
            }

            text.WriteLine("4. sent traffic:");
            var table = new TextTable("protocol", "sent to", "bindings say", "arrived at", "");
            deliveries = [];
            foreach (var (protocol, destination) in DemoScenario.Traffic())
            {
                context.Cancellation.ThrowIfCancellationRequested();
                var expected = BindingTable.Lookup(bindings, protocol, destination.Address, (ushort)destination.Port)?.Label;
                var candidates = new List<DemoSocket>();
                foreach (var socket in environment.Sockets)
                    if (socket.Protocol == protocol)
                        candidates.Add(socket);
                var (arrivedAt, outcome) = protocol == Protocol.Tcp
                    ? DemoTraffic.Connect(environment.NetNs, destination, candidates)
                    : DemoTraffic.Send(environment.NetNs, destination, candidates);
                var delivery = new DemoDelivery(protocol, destination, expected, arrivedAt, outcome);
                deliveries.Add(delivery);
                table.Add(protocol.Name(), destination.ToString(), expected ?? "(no binding)",
                    arrivedAt is null ? outcome : $"{arrivedAt.Label}: {arrivedAt.Description}", delivery.AsExpected ? "ok" : "WRONG");
            }
            table.Write(text, "   ");

            using (var reader = Dispatcher.Open(environment.NetNs, environment.BpfFs))
                destinations = reader.Destinations();
            text.WriteLine("5. counters of each destination (lookups that matched its bindings; misses: no socket; errors: socket refused):");
            var counters = new TextTable("label", "family", "protocol", "lookups", "misses", "errors");
            foreach (var destination in destinations)
                counters.Add(destination.Label, destination.Family.Name(), destination.Protocol.Name(),
                    JsonViews.Number(destination.Counters.Lookups), JsonViews.Number(destination.Counters.Misses), JsonViews.Number(destination.Counters.Errors));
            counters.Write(text, "   ");
        }
        catch
        {
            environment.Dispose();
            throw;
        }

        var cleanup = environment.TearDown();
        if (cleanup is null)
            text.WriteLine("6. cleaned up: dispatcher unloaded, sockets closed, bpffs unmounted, namespace released");
        var wrong = deliveries.FindAll(delivery => !delivery.AsExpected);
        var steered = deliveries.FindAll(delivery => delivery.ArrivedAt is not null).Count;
        text.WriteLine();
        if (wrong.Count == 0)
            text.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"all {deliveries.Count} connections and datagrams went where the bindings say: {steered} steered to web and proxy, {deliveries.Count - steered} with no binding left to the normal lookup (refused: nothing listens there)"));

        context.Write(new JsonObject
        {
            ["netns"] = environment.NetNs.Inode,
            ["bpffs"] = environment.BpfFs,
            ["programId"] = programId,
            ["bindings"] = JsonViews.Bindings(bindings),
            ["traffic"] = JsonArrays.From(deliveries, delivery => new JsonObject
            {
                ["protocol"] = delivery.Protocol.Name(),
                ["destination"] = delivery.Destination.ToString(),
                ["expected"] = delivery.Expected,
                ["arrivedAt"] = delivery.ArrivedAt is { } socket ? new JsonObject { ["label"] = socket.Label, ["socket"] = socket.Description } : null,
                ["outcome"] = delivery.Outcome,
                ["asExpected"] = delivery.AsExpected,
            }),
            ["destinations"] = JsonArrays.From(destinations, destination => JsonViews.Destination(destination)),
            ["cleanedUp"] = cleanup is null,
            ["ok"] = wrong.Count == 0 && cleanup is null,
        }, _ => { });

        if (wrong.Count > 0)
        {
            var first = wrong[0];
            throw new CliException(ExitCode.Failure,
                $"{wrong.Count} of {deliveries.Count} deliveries went astray, e.g. {first.Protocol.Name()} to {first.Destination} arrived at {first.ArrivedAt?.Label ?? first.Outcome}, not {first.Expected ?? "nowhere"}; check the kernel's sk_lookup support (Linux 5.9+)");
        }
        if (cleanup is not null)
            throw new CliException(ExitCode.Failure, $"clean-up failed: {cleanup}; unmount and remove {environment.BpfFs} by hand");
        return ExitCode.Ok;
    }
}
