using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup bind | unbind | bindings | apply</c>: which traffic goes to which label.</summary>
internal static class BindingCommands
{
    /// <summary>The binding commands.</summary>
    public static IEnumerable<Command> Create() => [Bind(), Unbind(), List(), Apply()];

    /// <summary>The four words of a binding, in tubectl's order.</summary>
    private sealed class BindingArguments
    {
        public readonly Argument<string> Label = new("LABEL") { Description = "The destination's name: 1 to 63 bytes, no spaces" };
        public readonly Argument<string> Protocol = new("PROTO") { Description = "tcp or udp" };
        public readonly Argument<string> Prefix = new("PREFIX") { Description = "An IPv4 or IPv6 prefix (192.0.2.0/24, 2001:db8::/64) or one address" };
        public readonly Argument<string> Port = new("PORT") { Description = "1 to 65535, or 0 (or 'any') for every port" };

        public void AddTo(Command command)
        {
            command.Add(Label);
            command.Add(Protocol);
            command.Add(Prefix);
            command.Add(Port);
        }

        public Binding Parse(CommandContext context) =>
            SkLookup.Binding.Parse(context.Get(Label), context.Get(Protocol), context.Get(Prefix), context.Get(Port));
    }

    private static Command Bind()
    {
        var arguments = new BindingArguments();
        var replace = new Option<bool>("--replace")
        {
            Description = "If another label has this protocol, prefix and port, move it to LABEL in one step (no moment without the binding)",
        };
        var command = new Command("bind", "Send traffic of a protocol to a prefix and port to a label's socket");
        arguments.AddTo(command);
        command.Add(replace);
        command.HelpFooter("""
            Where bindings overlap, the longest prefix wins; on equal prefixes a specific port beats any port.
            Until the label has a socket (sklookup register...), its traffic is dropped, unless the label falls
            through (sklookup label set LABEL --fall-through). A binding that another label has is refused;
            --replace moves it atomically: every connection goes to the old label or to the new one.
            Examples: sklookup bind web tcp 192.0.2.0/24 80
                      sklookup bind proxy tcp 198.51.100.1 0
                      sklookup bind web-v2 tcp 192.0.2.0/24 80 --replace
            """);
        return command.Runs("bind", context =>
        {
            var binding = arguments.Parse(context);
            using var dispatcher = context.OpenDispatcher(write: true);
            Binding? replaced = null;
            if (context.Get(replace))
                replaced = dispatcher.MoveBinding(binding);
            else
                dispatcher.AddBinding(binding);
            var json = JsonViews.Binding(binding);
            if (replaced is not null)
                json["replacedLabel"] = replaced.Label;
            context.Write(json, output => output.WriteLine(
                $"bound {binding.Protocol.Name()} {binding.Prefix} port {JsonViews.Port(binding.Port)} to '{binding.Label}'" +
                (replaced is null ? "" : $" (moved from '{replaced.Label}')")));
            return ExitCode.Ok;
        });
    }

    private static Command Unbind()
    {
        var arguments = new BindingArguments();
        var command = new Command("unbind", "Remove a binding; its traffic goes back to the normal socket lookup");
        arguments.AddTo(command);
        command.HelpFooter("Example: sklookup unbind web tcp 192.0.2.0/24 80");
        return command.Runs("unbind", context =>
        {
            var binding = arguments.Parse(context);
            using var dispatcher = context.OpenDispatcher(write: true);
            if (!dispatcher.RemoveBinding(binding))
                throw new CliException(ExitCode.NotFound, $"there is no binding '{binding}'; see 'sklookup bindings'");
            context.Write(JsonViews.Binding(binding), output =>
                output.WriteLine($"unbound {binding.Protocol.Name()} {binding.Prefix} port {JsonViews.Port(binding.Port)} from '{binding.Label}'"));
            return ExitCode.Ok;
        });
    }

    private static Command List()
    {
        var protocol = new Argument<string?>("PROTO") { Description = "Only this protocol: tcp or udp", Arity = ArgumentArity.ZeroOrOne };
        var prefix = new Argument<string?>("PREFIX") { Description = "Only bindings that overlap this prefix or address", Arity = ArgumentArity.ZeroOrOne };
        var port = new Argument<string?>("PORT") { Description = "Only bindings that apply to this port (that port, or any port)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("bindings", "List the bindings, most specific first") { protocol, prefix, port };
        command.HelpFooter("""
            Examples: sklookup bindings
                      sklookup bindings tcp 192.0.2.7 80     (what could match tcp traffic to 192.0.2.7 port 80)
            """);
        return command.Runs("bindings", context =>
        {
            var filter = BindingFilter.Parse(context.Get(protocol), context.Get(prefix), context.Get(port));
            using var dispatcher = context.OpenDispatcher(write: false);
            var bindings = new List<Binding>();
            foreach (var binding in dispatcher.Bindings())
                if (filter.Matches(binding))
                    bindings.Add(binding);
            context.Write(new JsonObject { ["bindings"] = JsonViews.Bindings(bindings) }, output =>
            {
                if (bindings.Count == 0)
                    output.WriteLine(filter.IsEmpty ? "no bindings" : "no bindings match");
                else
                    JsonViews.BindingTable(bindings).Write(output);
            });
            return ExitCode.Ok;
        });
    }

    private static Command Apply()
    {
        var file = new Argument<string>("FILE") { Description = "A bindings file (tubular's load-bindings JSON, or ours with label options); - reads stdin" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only print what would change" };
        var command = new Command("apply", "Make the bindings exactly those in a file, atomically, and print the difference") { file, dryRun };
        command.Aliases.Add("load-bindings"); // tubectl's name
        command.HelpFooter("""
            A lookup sees the old set or the new one, never a mix. Label options in the file ("labels": {"web":
            {"fallThrough": true}}) are set too; labels the file does not list keep theirs.
            File: {"bindings": [{"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80},
                                {"label": "proxy", "prefix": "198.51.100.1"}]}   (no protocol: tcp and udp; no port: any)
            Example: sklookup apply bindings.json --dry-run && sklookup apply bindings.json
            """);
        return command.Runs("apply", context =>
        {
            var path = context.Get(file);
            string text;
            try
            {
                text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCode.Usage, $"cannot read {path}: {exception.Message}; pass a readable bindings file, or - for stdin", exception);
            }
            var document = BindingsFile.ParseDocument(text);
            var dry = context.Get(dryRun);
            using var dispatcher = context.OpenDispatcher(write: !dry);
            BindingsDiff diff;
            if (dry)
            {
                diff = dispatcher.ReplaceBindings(document.Bindings, dryRun: true);
            }
            else
            {
                // Label options go first, so a newly bound label with fall-through never drops; they are
                // put back if the bindings fail, so a failed apply changes nothing.
                var previous = FallThroughOf(dispatcher, document.Labels.Keys);
                foreach (var (label, options) in document.Labels)
                    dispatcher.SetFallThrough(label, options.FallThrough);
                try
                {
                    diff = dispatcher.ReplaceBindings(document.Bindings, dryRun: false);
                }
                catch
                {
                    foreach (var (label, fallThrough) in previous)
                        dispatcher.SetFallThrough(label, fallThrough);
                    throw;
                }
            }
            context.Write(new JsonObject
            {
                ["dryRun"] = dry,
                ["added"] = JsonViews.Bindings(diff.Added),
                ["removed"] = JsonViews.Bindings(diff.Removed),
            }, output =>
            {
                foreach (var binding in diff.Removed)
                    output.WriteLine($"- {binding}");
                foreach (var binding in diff.Added)
                    output.WriteLine($"+ {binding}");
                output.WriteLine(diff.IsEmpty
                    ? "no change: the bindings are those in the file already"
                    : dry
                        ? $"dry run: would add {diff.Added.Count} and remove {diff.Removed.Count} bindings"
                        : $"applied: added {diff.Added.Count} and removed {diff.Removed.Count} bindings");
            });
            return ExitCode.Ok;
        });
    }

    /// <summary>The fall-through flag each of <paramref name="labels"/> has now (false for a label without destinations).</summary>
    private static Dictionary<string, bool> FallThroughOf(Dispatcher dispatcher, IEnumerable<string> labels)
    {
        var flags = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var label in labels)
            flags[label] = false;
        foreach (var destination in dispatcher.Destinations())
            if (flags.ContainsKey(destination.Label))
                flags[destination.Label] = destination.FallThrough;
        return flags;
    }

    /// <summary>The optional filters of <c>bindings</c>.</summary>
    private sealed record BindingFilter(Protocol? Protocol, IPNetwork? Prefix, ushort Port)
    {
        public bool IsEmpty => Protocol is null && Prefix is null && Port == 0;

        public static BindingFilter Parse(string? protocol, string? prefix, string? port) => new(
            protocol is null ? null : ProtocolNames.ParseProtocol(protocol),
            prefix is null ? null : SkLookup.Binding.ParsePrefix(prefix),
            port is null ? (ushort)0 : SkLookup.Binding.ParsePort(port));

        public bool Matches(Binding binding)
        {
            if (Protocol is { } wanted && binding.Protocol != wanted)
                return false;
            if (Prefix is { } range && !Overlap(range, binding.Prefix))
                return false;
            return Port == 0 || binding.Port == 0 || binding.Port == Port;
        }

        private static bool Overlap(IPNetwork a, IPNetwork b) =>
            a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));
    }
}
