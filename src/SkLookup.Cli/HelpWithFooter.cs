using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace SkLookup.Cli;

/// <summary>The standard help, followed by the command's footer (examples, and the exit codes on the root).</summary>
internal sealed class HelpWithFooter(HelpAction standard) : SynchronousCommandLineAction
{
    /// <summary>The footer of each command that has one.</summary>
    public static readonly ConditionalWeakTable<Command, string> Footers = [];

    /// <inheritdoc />
    public override int Invoke(ParseResult parseResult)
    {
        var result = standard.Invoke(parseResult);
        if (Footers.TryGetValue(parseResult.CommandResult.Command, out var footer))
        {
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine(footer.TrimEnd());
            output.WriteLine();
        }
        return result;
    }

    /// <summary>Replaces the help action of <paramref name="root"/>'s help option (which every subcommand inherits).</summary>
    public static void Install(Command root)
    {
        foreach (var option in root.Options)
            if (option is HelpOption { Action: HelpAction standard } help)
                help.Action = new HelpWithFooter(standard);
    }
}
