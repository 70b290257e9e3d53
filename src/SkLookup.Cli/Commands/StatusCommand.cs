using System.CommandLine;
using System.Text.Json;
using SkLookup.Bpf;
using SkLookup.Bpf.Features;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup status [LABEL]</c>: bindings, destinations, sockets and their owners, counters.</summary>
internal static class StatusCommand
{
    /// <summary>How many destinations <c>status</c> lists without <c>--all</c>.</summary>
    internal const int DestinationLimit = 50;

    /// <summary>The command.</summary>
    public static Command Create()
    {
        var label = new Argument<string?>("LABEL") { Description = "Only this label", Arity = ArgumentArity.ZeroOrOne };
        var noOwners = new Option<bool>("--no-owners") { Description = "Do not look for the processes that hold the sockets (that walks every process)" };
        var all = new Option<bool>("--all") { Description = "List every binding and destination, not only a summary" };
        var command = new Command("status", "Show the dispatcher, the bindings, and each destination's socket (cookie, owner) and counters") { label, noOwners, all };
        command.HelpFooter($"""
            Counters per destination: lookups that matched its bindings, misses (no socket registered: dropped,
            or passed on with fall-through) and errors (the kernel refused the socket).
            A summary by default: the binding counts, the first {BindingCommands.ListLimit} bindings and the first {DestinationLimit} destinations;
            --all lists everything. 'sklookup bindings' filters bindings by label, protocol, prefix and port.
            Examples: sklookup status
                      sklookup status web --json
            """);
        return command.Runs("status", context =>
        {
            var only = context.Get(label) is { } text ? Label.Validate(text) : null;
            var everything = context.Get(all);
            using var dispatcher = context.OpenDispatcher(write: false);
            var counts = new List<BindingCount>();
            foreach (var count in dispatcher.CountBindings())
                if (only is null || count.Label == only)
                    counts.Add(count);
            var total = counts.Sum(count => count.Count);
            var selection = dispatcher.SelectBindings(only is null ? BindingFilter.All : new BindingFilter { Label = only },
                everything ? int.MaxValue : BindingCommands.ListLimit);
            var destinations = new List<DestinationStatus>();
            foreach (var destination in dispatcher.Destinations())
                if (only is null || destination.Label == only)
                    destinations.Add(destination);
            if (only is not null && total == 0 && destinations.Count == 0)
                throw new CliException(ExitCode.NotFound, $"label '{only}' has no bindings and no sockets; see 'sklookup status'");
            var shown = everything ? destinations : destinations.Take(DestinationLimit).ToList();
            var cookies = new List<ulong>();
            foreach (var destination in shown)
                if (destination.SocketCookie is { } cookie)
                    cookies.Add(cookie);
            IReadOnlyDictionary<ulong, IReadOnlyList<SocketOwner>> owners = context.Get(noOwners) ? new Dictionary<ulong, IReadOnlyList<SocketOwner>>() : SocketFromProcess.FindOwners(cookies);
            var perDestination = counts.ToDictionary(count => (count.Label, count.Family, count.Protocol), count => count.Count);
            int BindingsOf(DestinationStatus destination) => perDestination.GetValueOrDefault((destination.Label, destination.Family, destination.Protocol));
            var features = Probe.All();

            if (context.Json)
            {
                JsonOutput.Write(context.Out, json => WriteJson(json, dispatcher, features, selection, total, shown, destinations.Count, owners, BindingsOf));
                return ExitCode.Ok;
            }
            var output = context.Out;
            output.WriteLine($"dispatcher: netns {dispatcher.NetworkNamespaceInode}, program {dispatcher.Program.Id} ({dispatcher.Program.Name}, tag {dispatcher.Program.Tag}), state at {dispatcher.StatePath}");
            if (dispatcher.InterruptedWrite is { } interrupted)
                output.WriteLine($"interrupted write: {interrupted}");
            output.WriteLine(KernelView.Line(features));
            output.WriteLine();
            output.WriteLine($"bindings: {Summary(counts, total, only is null)}");
            if (total > 0)
                BindingCommands.WriteBindingTable(output, selection, "  ", "");
            output.WriteLine();
            output.WriteLine("destinations:");
            if (destinations.Count == 0)
            {
                output.WriteLine("  none");
                output.Flush();
                return ExitCode.Ok;
            }
            var table = new TextTable("label", "family", "protocol", "id", "bindings", "socket cookie", "owner", "lookups", "misses", "errors", "without socket");
            foreach (var destination in shown)
            {
                var owner = destination.SocketCookie is { } cookie && owners.TryGetValue(cookie, out var holders)
                    ? string.Join(", ", holders)
                    : destination.SocketCookie is null || context.Get(noOwners) ? "-" : "?";
                table.Add(destination.Label, destination.Family.Name(), destination.Protocol.Name(), JsonViews.Number(destination.Id),
                    JsonViews.Number((ulong)BindingsOf(destination)),
                    destination.SocketCookie is { } c ? JsonViews.Number(c) : "none", owner,
                    JsonViews.Number(destination.Counters.Lookups), JsonViews.Number(destination.Counters.Misses), JsonViews.Number(destination.Counters.Errors),
                    destination.FallThrough ? "fall through" : "drop");
            }
            table.Write(output, "  ");
            if (shown.Count < destinations.Count)
                output.WriteLine($"  ... the first {shown.Count:N0} of {destinations.Count:N0} destinations, by label; pass a LABEL, or --all");
            output.Flush();
            return ExitCode.Ok;
        });
    }

    /// <summary>"1,000,000 (tcp4 250,000, udp4 250,000, ...) on 4,095 labels".</summary>
    private static string Summary(List<BindingCount> counts, int total, bool withLabels)
    {
        if (total == 0)
            return "none";
        var byClass = counts.GroupBy(count => $"{count.Protocol.Name()}{(count.Family == Family.IPv4 ? "4" : "6")}")
            .OrderBy(group => group.Key, StringComparer.Ordinal)
            .Select(group => $"{group.Key} {group.Sum(count => count.Count):N0}");
        var labels = counts.Select(count => count.Label).Distinct().Count();
        return $"{total:N0} ({string.Join(", ", byClass)}){(withLabels ? $" on {labels:N0} label{(labels == 1 ? "" : "s")}" : "")}";
    }

    private static void WriteJson(Utf8JsonWriter json, Dispatcher dispatcher, IReadOnlyList<KernelFeature> features, BindingSelection selection, int total, List<DestinationStatus> shown,
        int destinationCount, IReadOnlyDictionary<ulong, IReadOnlyList<SocketOwner>> owners, Func<DestinationStatus, int> bindingsOf)
    {
        json.WriteStartObject();
        json.WriteNumber("netns", dispatcher.NetworkNamespaceInode);
        json.WriteString("statePath", dispatcher.StatePath);
        if (dispatcher.InterruptedWrite is { } interrupted)
            json.WriteString("interruptedWrite", interrupted);
        else
            json.WriteNull("interruptedWrite");
        json.WriteStartObject("program");
        json.WriteNumber("id", dispatcher.Program.Id);
        json.WriteString("name", dispatcher.Program.Name);
        json.WriteString("tag", dispatcher.Program.Tag);
        json.WriteEndObject();
        json.WritePropertyName("kernel");
        KernelView.Json(features).WriteTo(json);
        json.WriteNumber("bindingCount", total);
        JsonOutput.WriteBindings(json, "bindings", selection.First);
        json.WriteBoolean("bindingsComplete", selection.IsComplete);
        json.WriteNumber("destinationCount", destinationCount);
        json.WriteStartArray("destinations");
        foreach (var destination in shown)
        {
            json.WriteStartObject();
            json.WriteString("label", destination.Label);
            json.WriteString("family", destination.Family.Name());
            json.WriteString("protocol", destination.Protocol.Name());
            json.WriteNumber("id", destination.Id);
            json.WriteNumber("bindings", bindingsOf(destination));
            if (destination.SocketCookie is { } cookie)
                json.WriteNumber("socketCookie", cookie);
            else
                json.WriteNull("socketCookie");
            json.WriteBoolean("fallThrough", destination.FallThrough);
            json.WriteNumber("lookups", destination.Counters.Lookups);
            json.WriteNumber("misses", destination.Counters.Misses);
            json.WriteNumber("errors", destination.Counters.Errors);
            if (destination.SocketCookie is { } held && owners.TryGetValue(held, out var holders))
            {
                json.WriteStartArray("owners");
                foreach (var owner in holders)
                {
                    json.WriteStartObject();
                    json.WriteNumber("pid", owner.ProcessId);
                    json.WriteString("command", owner.Command);
                    json.WriteNumber("fd", owner.Fd);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
