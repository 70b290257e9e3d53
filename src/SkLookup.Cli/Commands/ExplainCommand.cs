using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using SkLookup.Bpf.Asm;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup explain PROTO DST-IP:PORT [--from SRC-IP:PORT]</c>: where one packet would go, and why.</summary>
internal static class ExplainCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var protocol = new Argument<string>("PROTO") { Description = "tcp or udp" };
        var destination = new Argument<string>("DST-IP:PORT") { Description = "The packet's destination, e.g. 192.0.2.7:80 or [2001:db8::1]:80" };
        var source = new Option<string?>("--from")
        {
            Description = "The packet's source (programs may look at it). Default: a documentation address, port 40000",
            HelpName = "SRC-IP:PORT",
        };
        var command = new Command("explain", "Explain what the sk_lookup programs of the namespace do with one packet: the binding, the label, the socket") { protocol, destination, source };
        command.HelpFooter("""
            Every attached sk_lookup program is test-run (BPF_PROG_TEST_RUN, Linux 5.13+) and their verdicts are
            combined as the kernel combines them. Nothing changes, apart from the counters the test runs bump.
            Examples: sklookup explain tcp 192.0.2.7:80
                      sklookup explain udp [2001:db8:1::1]:53 --from [2001:db8:ff::1]:5353
            """);
        return command.Runs("explain", context =>
        {
            var wantedProtocol = ProtocolNames.ParseProtocol(context.Get(protocol));
            var to = ParseEndPoint(context.Get(destination), "destination");
            var from = context.Get(source) is { } text ? ParseEndPoint(text, "--from") : null;
            if (from is not null && from.AddressFamily != to.AddressFamily)
                throw new CliException(ExitCode.Usage, $"--from {from} and {to} are of different families; give a source of the destination's family");
            var bpffs = context.RequireBpfFs();
            using var netns = context.OpenNamespace();
            var explanation = Explainer.Explain(netns, bpffs, wantedProtocol, to, from);
            context.Write(ToJson(explanation), output => output.Write(explanation.ToString().TrimEnd() + Environment.NewLine));
            return ExitCode.Ok;
        });
    }

    private static IPEndPoint ParseEndPoint(string text, string what)
    {
        if (!AddressText.TryParseEndPoint(text, out var endPoint, out var reason))
            throw new CliException(ExitCode.Usage, $"{what} '{TextEscape.Escape(text)}' is not IP:PORT ({reason}); pass e.g. 192.0.2.7:80 or [2001:db8::1]:80");
        if (endPoint.Port == 0)
            throw new CliException(ExitCode.Usage, $"{what} '{TextEscape.Escape(text)}' has port 0, which no packet carries; pass a port from 1 to 65535");
        return endPoint;
    }

    private static JsonObject ToJson(Explanation explanation) => new()
    {
        ["protocol"] = explanation.Protocol.Name(),
        ["destination"] = explanation.Destination.ToString(),
        ["source"] = explanation.Source.ToString(),
        ["programs"] = JsonArrays.From(explanation.Programs, program => new JsonObject
        {
            ["id"] = program.ProgramId,
            ["name"] = program.Name,
            ["isDispatcher"] = program.IsDispatcher,
            ["verdict"] = program.Verdict switch { SkAction.Pass => "pass", SkAction.Drop => "drop", null => null, var other => other.ToString() },
            ["selectedSocketCookie"] = program.SelectedSocketCookie == 0 ? null : program.SelectedSocketCookie,
            ["note"] = program.Note,
        }),
        ["binding"] = explanation.Binding is { } binding ? JsonViews.Binding(binding) : null,
        ["destinationId"] = explanation.DestinationId,
        ["registeredSocketCookie"] = explanation.RegisteredSocketCookie,
        ["verdict"] = explanation.Verdict switch
        {
            ExplainVerdict.Delivered => "delivered",
            ExplainVerdict.Dropped => "dropped",
            _ => "normal-lookup",
        },
        ["deliveredSocketCookie"] = explanation.DeliveredSocketCookie,
        ["socketOwner"] = explanation.SocketOwner,
    };
}
