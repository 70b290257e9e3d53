using System.CommandLine;
using System.Text.Json.Nodes;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup label set LABEL --fall-through | --no-fall-through</c>: what a label's traffic does without a socket.</summary>
internal static class LabelCommands
{
    /// <summary>The <c>label</c> command and its subcommands.</summary>
    public static Command Create()
    {
        var command = new Command("label", "Set a label's options");
        command.Add(Set());
        return command;
    }

    private static Command Set()
    {
        var label = new Argument<string>("LABEL") { Description = "The label" };
        var fallThrough = new Option<bool>("--fall-through")
        {
            Description = "While the label has no socket, pass its traffic on to the normal socket lookup",
        };
        var noFallThrough = new Option<bool>("--no-fall-through")
        {
            Description = "While the label has no socket, drop its traffic (the default)",
        };
        var command = new Command("set", "Choose what happens to a label's traffic while it has no socket: dropped (the default) or passed on")
        {
            label,
            fallThrough,
            noFallThrough,
        };
        command.HelpFooter("""
            By default a label without a socket drops its traffic, so that it never leaks to whatever else listens
            there. With --fall-through, the normal socket lookup handles it instead, as if there were no binding.
            The option applies to the label's destinations now and to those its later bindings create, and it stays
            until set again. Bindings files can set it too: "labels": {"web": {"fallThrough": true}}.
            Examples: sklookup label set web --fall-through
                      sklookup label set web --no-fall-through
            """);
        return command.Runs("label set", context =>
        {
            var name = Label.Validate(context.Get(label));
            var on = context.Get(fallThrough);
            var off = context.Get(noFallThrough);
            if (on == off)
                throw new CliException(ExitCode.Usage, on
                    ? "--fall-through and --no-fall-through contradict each other: pass one"
                    : "pass --fall-through or --no-fall-through");
            using var dispatcher = context.OpenDispatcher(write: true);
            dispatcher.SetFallThrough(name, on);
            context.Write(new JsonObject { ["label"] = name, ["fallThrough"] = on }, output => output.WriteLine(on
                ? $"label '{name}': traffic without a socket falls through to the normal socket lookup"
                : $"label '{name}': traffic without a socket is dropped"));
            return ExitCode.Ok;
        });
    }
}
