using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using SkLookup.Bpf;

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
        var command = new Command("bind", "Send traffic of a protocol to a prefix and port to a label's socket");
        arguments.AddTo(command);
        command.HelpFooter("""
            Where bindings overlap, the longest prefix wins; on equal prefixes a specific port beats any port.
            Until the label has a socket (sklookup register...), its traffic is dropped.
            Examples: sklookup bind web tcp 192.0.2.0/24 80
                      sklookup bind proxy tcp 198.51.100.1 0
            """);
        return command.Runs("bind", context =>
        {
            var binding = arguments.Parse(context);
            using var dispatcher = context.OpenDispatcher(write: true);
            dispatcher.AddBinding(binding);
            context.Write(JsonViews.Binding(binding), output =>
                output.WriteLine($"bound {binding.Protocol.Name()} {binding.Prefix} port {JsonViews.Port(binding.Port)} to '{binding.Label}'"));
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
        var readTimeout = new Option<double>("--read-timeout")
        {
            Description = "How long a pipe or FIFO may stay silent before apply gives up, in seconds",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => InputFile.DefaultIdleTimeout.TotalSeconds,
        };
        var command = new Command("apply", "Make the bindings exactly those in a file, atomically, and print the difference") { file, dryRun, readTimeout };
        command.HelpFooter("""
            A lookup sees the old set or the new one, never a mix. FILE is a regular file, a FIFO or - (stdin), of
            at most 256 MiB of strict JSON in UTF-8. Label options in the file ("labels": {"web":
            {"fallThrough": true}}) are set too; labels the file does not list keep theirs.
            File: {"bindings": [{"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80},
                                {"label": "proxy", "prefix": "198.51.100.1"}]}   (no protocol: tcp and udp; no port: any)
            Example: sklookup apply bindings.json --dry-run && sklookup apply bindings.json
            """);
        return command.Runs("apply", context =>
        {
            var seconds = context.Get(readTimeout);
            if (!(seconds > 0 && seconds <= 86400))
                throw new CliException(ExitCode.Usage, $"--read-timeout {seconds} is out of range: give 0.001 to 86400 seconds");
            byte[] bytes;
            try
            {
                bytes = InputFile.ReadAll(context.Get(file), InputFile.DefaultMaxBytes, TimeSpan.FromSeconds(seconds));
            }
            catch (BpfException exception)
            {
                throw new CliException(ExitCode.Usage, exception.Message, exception);
            }
            var document = BindingsFile.ParseDocument(bytes);
            var dry = context.Get(dryRun);
            using var dispatcher = context.OpenDispatcher(write: !dry);
            // Label options first, put back if the bindings fail: the library's apply makes it one change.
            var diff = dispatcher.Apply(document, dry);
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
