using System.CommandLine;
using System.Text.Json.Nodes;
using SkLookup.Bpf.Features;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup status [LABEL]</c>: bindings, destinations, sockets and their owners, counters.</summary>
internal static class StatusCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var label = new Argument<string?>("LABEL") { Description = "Only this label", Arity = ArgumentArity.ZeroOrOne };
        var noOwners = new Option<bool>("--no-owners") { Description = "Do not look for the processes that hold the sockets (that walks every process)" };
        var command = new Command("status", "Show the dispatcher, the bindings, and each destination's socket (cookie, owner) and counters") { label, noOwners };
        command.HelpFooter("""
            Counters per destination: lookups that matched its bindings, misses (no socket registered: dropped,
            or passed on with fall-through) and errors (the kernel refused the socket).
            Examples: sklookup status
                      sklookup status web --json
            """);
        return command.Runs("status", context =>
        {
            var only = context.Get(label) is { } text ? Label.Validate(text) : null;
            using var dispatcher = context.OpenDispatcher(write: false);
            var bindings = new List<Binding>();
            foreach (var binding in dispatcher.Bindings())
                if (only is null || binding.Label == only)
                    bindings.Add(binding);
            var destinations = new List<DestinationStatus>();
            foreach (var destination in dispatcher.Destinations())
                if (only is null || destination.Label == only)
                    destinations.Add(destination);
            if (only is not null && bindings.Count == 0 && destinations.Count == 0)
                throw new CliException(ExitCode.NotFound, $"label '{only}' has no bindings and no sockets; see 'sklookup status'");
            var cookies = new List<ulong>();
            foreach (var destination in destinations)
                if (destination.SocketCookie is { } cookie)
                    cookies.Add(cookie);
            var owners = context.Get(noOwners) ? [] : SocketOwners.Find(cookies);
            var features = Probe.All();

            context.Write(new JsonObject
            {
                ["netns"] = dispatcher.NetworkNamespaceInode,
                ["statePath"] = dispatcher.StatePath,
                ["program"] = new JsonObject
                {
                    ["id"] = dispatcher.Program.Id,
                    ["name"] = dispatcher.Program.Name,
                    ["tag"] = dispatcher.Program.Tag,
                },
                ["kernel"] = KernelView.Json(features),
                ["bindings"] = JsonViews.Bindings(bindings),
                ["destinations"] = JsonArrays.From(destinations, destination =>
                {
                    var json = JsonViews.Destination(destination);
                    if (destination.SocketCookie is { } cookie && owners.TryGetValue(cookie, out var holders))
                        json["owners"] = JsonArrays.From(holders, owner => new JsonObject { ["pid"] = owner.ProcessId, ["command"] = owner.Command, ["fd"] = owner.Fd });
                    return json;
                }),
            }, output =>
            {
                output.WriteLine($"dispatcher: netns {dispatcher.NetworkNamespaceInode}, program {dispatcher.Program.Id} ({dispatcher.Program.Name}, tag {dispatcher.Program.Tag}), state at {dispatcher.StatePath}");
                output.WriteLine(KernelView.Line(features));
                output.WriteLine();
                output.WriteLine("bindings:");
                if (bindings.Count == 0)
                    output.WriteLine("  none");
                else
                    JsonViews.BindingTable(bindings).Write(output, "  ");
                output.WriteLine();
                output.WriteLine("destinations:");
                if (destinations.Count == 0)
                {
                    output.WriteLine("  none");
                    return;
                }
                var table = new TextTable("label", "family", "protocol", "id", "socket cookie", "owner", "lookups", "misses", "errors", "without socket");
                foreach (var destination in destinations)
                {
                    var owner = destination.SocketCookie is { } cookie && owners.TryGetValue(cookie, out var holders)
                        ? string.Join(", ", holders)
                        : destination.SocketCookie is null || context.Get(noOwners) ? "-" : "?";
                    table.Add(destination.Label, destination.Family.Name(), destination.Protocol.Name(), JsonViews.Number(destination.Id),
                        destination.SocketCookie is { } c ? JsonViews.Number(c) : "none", owner,
                        JsonViews.Number(destination.Counters.Lookups), JsonViews.Number(destination.Counters.Misses), JsonViews.Number(destination.Counters.Errors),
                        destination.FallThrough ? "fall through" : "drop");
                }
                table.Write(output, "  ");
            });
            return ExitCode.Ok;
        });
    }
}
