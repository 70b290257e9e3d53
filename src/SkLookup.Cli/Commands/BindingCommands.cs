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

    /// <summary>How many bindings <c>bindings</c> and <c>status</c> list without <c>--all</c>.</summary>
    internal const int ListLimit = 50;

    private static Command List()
    {
        var protocol = new Argument<string?>("PROTO") { Description = "Only this protocol: tcp or udp", Arity = ArgumentArity.ZeroOrOne };
        var prefix = new Argument<string?>("PREFIX") { Description = "Only bindings that overlap this prefix or address", Arity = ArgumentArity.ZeroOrOne };
        var port = new Argument<string?>("PORT") { Description = "Only bindings that apply to this port (that port, or any port)", Arity = ArgumentArity.ZeroOrOne };
        var label = new Option<string?>("--label") { Description = "Only this label's bindings", HelpName = "LABEL" };
        var all = new Option<bool>("--all") { Description = $"List every binding that matches, not only the first {ListLimit}" };
        var command = new Command("bindings", "List the bindings, most specific first") { protocol, prefix, port, label, all };
        command.HelpFooter($"""
            Without --all it lists the first {ListLimit} and says how many match in all; at a million bindings it still
            answers in well under a second, because it reads the maps' raw entries and formats only what it prints.
            Examples: sklookup bindings
                      sklookup bindings tcp 192.0.2.7 80     (what could match tcp traffic to 192.0.2.7 port 80)
                      sklookup bindings --label web --all
            """);
        return command.Runs("bindings", context =>
        {
            var filter = ParseFilter(context.Get(protocol), context.Get(prefix), context.Get(port), context.Get(label));
            var everything = context.Get(all);
            using var dispatcher = context.OpenDispatcher(write: false);
            if (dispatcher.InterruptedWrite is { } interrupted)
                context.Error.WriteLine($"sklookup: note: interrupted write: {interrupted}");
            var selection = dispatcher.SelectBindings(filter, everything ? int.MaxValue : ListLimit);
            if (context.Json)
            {
                JsonOutput.Write(context.Out, json =>
                {
                    json.WriteStartObject();
                    JsonOutput.WriteBindings(json, "bindings", selection.First);
                    json.WriteNumber("matched", selection.Matched);
                    json.WriteBoolean("complete", selection.IsComplete);
                    json.WriteEndObject();
                });
                return ExitCode.Ok;
            }
            var output = context.Out;
            if (selection.Matched == 0)
                output.WriteLine(filter.IsEmpty ? "no bindings" : "no bindings match");
            else
                WriteBindingTable(output, selection, "", filter.IsEmpty ? "" : " that match");
            output.Flush();
            return ExitCode.Ok;
        });
    }

    /// <summary>The selected bindings as a table, then how many more there are, if any.</summary>
    internal static void WriteBindingTable(TextWriter output, BindingSelection selection, string indent, string matching)
    {
        JsonViews.BindingTable(selection.First).Write(output, indent);
        if (!selection.IsComplete)
            output.WriteLine($"{indent}... the first {selection.First.Count:N0} of {selection.Matched:N0} bindings{matching}, most specific first; filter them (a label, protocol, prefix or port), or pass --all");
    }

    /// <summary>The filters of <c>bindings</c>: PROTO, PREFIX and PORT as tubectl takes them, and a label.</summary>
    private static BindingFilter ParseFilter(string? protocol, string? prefix, string? port, string? label)
    {
        var portNumber = port is null ? (ushort)0 : SkLookup.Binding.ParsePort(port);
        return new BindingFilter
        {
            Protocol = protocol is null ? null : ProtocolNames.ParseProtocol(protocol),
            Prefix = prefix is null ? null : SkLookup.Binding.ParsePrefix(prefix),
            Port = portNumber == 0 ? null : portNumber, // "any" names every port: no filter, as before.
            Label = label is null ? null : Label.Validate(label),
        };
    }

    /// <summary>How many lines of a diff <c>apply</c> prints without <c>--diff</c>.</summary>
    internal const int DiffPreviewLines = 10;

    private static Command Apply()
    {
        var file = new Argument<string>("FILE") { Description = "A bindings file (tubular's load-bindings JSON, or ours with label options); - reads stdin" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only print what would change" };
        var fullDiff = new Option<bool>("--diff") { Description = $"Print every added and removed binding, not only the counts and the first {DiffPreviewLines}" };
        var readTimeout = new Option<double>("--read-timeout")
        {
            Description = "How long a pipe or FIFO may stay silent before apply gives up, in seconds",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => InputFile.DefaultIdleTimeout.TotalSeconds,
        };
        var command = new Command("apply", "Make the bindings exactly those in a file, atomically, and print the difference") { file, dryRun, fullDiff, readTimeout };
        command.Aliases.Add("load-bindings"); // tubectl's name
        command.HelpFooter($$$"""
            A lookup sees the old set or the new one, never a mix. FILE is a regular file, a FIFO or - (stdin), of
            at most 256 MiB of strict JSON in UTF-8. Label options in the file ("labels": {"web":
            {"fallThrough": true}}) are set too; labels the file does not list keep theirs.
            It prints the counts and the first {{{DiffPreviewLines}}} lines of the diff ("- " removed, "+ " added); --diff prints
            all of it. On a terminal, a command that takes more than a second shows its progress on stderr.
            File: {"bindings": [{"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80},
                                {"label": "proxy", "prefix": "198.51.100.1"}]}   (no protocol: tcp and udp; no port: any)
            Example: sklookup apply bindings.json --dry-run && sklookup apply bindings.json
            """);
        return command.Runs("apply", context =>
        {
            var seconds = context.Get(readTimeout);
            if (!(seconds > 0 && seconds <= 86400))
                throw new CliException(ExitCode.Usage, $"--read-timeout {seconds} is out of range: give 0.001 to 86400 seconds");
            var dry = context.Get(dryRun);
            BindingsDiff diff;
            using (var progress = context.StartProgress())
            {
                var document = ReadBindingsFile(context.Get(file), TimeSpan.FromSeconds(seconds), progress);
                progress.Phase(dry
                    ? $"comparing {document.Bindings.Count:N0} bindings with the dispatcher's"
                    : $"applying {document.Bindings.Count:N0} bindings");
                using var dispatcher = context.OpenDispatcher(write: !dry);
                try
                {
                    // Label options first, put back if the bindings fail: the library's apply makes it one change.
                    diff = dispatcher.Apply(document, dry);
                }
                catch (SteeringException exception) when (exception.Error == SteeringError.AlreadyExists)
                {
                    // Two entries of the file bind the same traffic to different labels: a fault of the file.
                    throw new CliException(ExitCode.Usage, $"{context.Get(file)}: {exception.Message}", exception);
                }
            }
            WriteDiff(context, diff, dry, context.Get(fullDiff));
            return ExitCode.Ok;
        });
    }

    /// <summary>Reads the bindings file at <paramref name="path"/> (- for stdin) with the input's bounds, a chunk at a time, and parses it.</summary>
    private static BindingsDocument ReadBindingsFile(string path, TimeSpan idleTimeout, Progress progress)
    {
        try
        {
            // Streamed: the file is never held whole, so a million bindings cost what their bindings do.
            using var stream = InputFile.OpenRead(path, InputFile.DefaultMaxBytes, idleTimeout);
            var length = TryLength(stream);
            progress.Phase($"reading {(path == "-" ? "stdin" : Path.GetFileName(path))}", () => length > 0
                ? $"{stream.Position * 100 / length} % of {length / 1048576.0:F0} MB"
                : $"{stream.Position / 1048576.0:F0} MB");
            using var noGc = ParseWithoutCollections.Start(length);
            // The dispatcher checks for conflicting entries as it replaces the set; checking here too would double the cost at scale.
            return BindingsFile.Read(stream, checkConflicts: false);
        }
        catch (BpfException exception)
        {
            throw new CliException(ExitCode.Usage, exception.Message, exception);
        }
    }

    private static long TryLength(Stream stream)
    {
        try
        {
            return stream.Length;
        }
        catch (NotSupportedException)
        {
            return 0; // A pipe: its length is unknown.
        }
    }

    /// <summary>
    /// The counts and the first <see cref="DiffPreviewLines"/> lines of the diff (removals first), or all of it with
    /// <paramref name="full"/>; as JSON, the same, with "complete" saying whether the lists hold everything.
    /// </summary>
    private static void WriteDiff(CommandContext context, BindingsDiff diff, bool dry, bool full)
    {
        var total = diff.Added.Count + diff.Removed.Count;
        var limit = full ? int.MaxValue : DiffPreviewLines;
        if (context.Json)
        {
            JsonOutput.Write(context.Out, json =>
            {
                json.WriteStartObject();
                json.WriteBoolean("dryRun", dry);
                json.WriteNumber("addedCount", diff.Added.Count);
                json.WriteNumber("removedCount", diff.Removed.Count);
                json.WriteBoolean("complete", full || (diff.Added.Count <= limit && diff.Removed.Count <= limit));
                JsonOutput.WriteBindings(json, "added", diff.Added.Take(limit));
                JsonOutput.WriteBindings(json, "removed", diff.Removed.Take(limit));
                json.WriteEndObject();
            });
            return;
        }
        var output = context.Out;
        var shown = 0;
        foreach (var binding in diff.Removed)
        {
            if (shown++ == limit)
                break;
            output.WriteLine($"- {binding}");
        }
        foreach (var binding in diff.Added)
        {
            if (shown++ >= limit)
                break;
            output.WriteLine($"+ {binding}");
        }
        if (total > limit)
            output.WriteLine($"... and {total - limit:N0} more ('sklookup apply --diff' prints them all)");
        output.WriteLine(diff.IsEmpty
            ? "no change: the bindings are those in the file already"
            : dry
                ? $"dry run: would add {diff.Added.Count:N0} and remove {diff.Removed.Count:N0} bindings"
                : $"applied: added {diff.Added.Count:N0} and removed {diff.Removed.Count:N0} bindings");
        output.Flush();
    }
}
