using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using SkLookup.Cli.Commands;

namespace SkLookup.Cli;

/// <summary>
/// The <c>sklookup</c> tool: a thin shell over the public APIs of SkLookup and SkLookup.Bpf. Program.Main
/// calls <see cref="Run(string[], TextWriter, TextWriter)"/>, and so do the tests, in-process.
/// </summary>
public static class CliApp
{
    /// <summary>Runs the tool with <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, output, error, CancellationToken.None);

    /// <summary>
    /// Runs the tool as <see cref="Run(string[], TextWriter, TextWriter)"/> does, but long-running commands
    /// (metrics) stop when <paramref name="cancellation"/> is signalled instead of on SIGINT or SIGTERM.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancellation) =>
        Run(args, output, error, errorIsTerminal: false, cancellation);

    /// <summary>True while a command runs whose stderr is a terminal: long commands then show their progress there.</summary>
    internal static bool ErrorIsTerminal => s_errorIsTerminal.Value;

    private static readonly AsyncLocal<bool> s_errorIsTerminal = new();

    /// <summary>Runs the tool; with <paramref name="errorIsTerminal"/>, long commands show their progress on <paramref name="error"/>.</summary>
    internal static int Run(string[] args, TextWriter output, TextWriter error, bool errorIsTerminal, CancellationToken cancellation)
    {
        s_errorIsTerminal.Value = errorIsTerminal;
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var json = false;
        var command = "";
        try
        {
            var root = BuildRootCommand();
            // No POSIX bundling: "-hxyz" would be -h (help, exit 0) instead of an error. No response files:
            // "@/etc/shadow" would be read (as root) into arguments, and so into error messages.
            var parse = root.Parse(args, new ParserConfiguration { EnablePosixBundling = false, ResponseFileTokenReplacer = null });
            json = JsonRequested(parse);
            command = CommandPath(parse.CommandResult);
            if (parse.Action is ParseErrorAction)
            {
                var message = string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')));
                ErrorReport.Write(error, json, command, ExitCode.Usage, message + $"; see 'sklookup {(command.Length == 0 ? "" : command + " ")}--help'");
                return (int)ExitCode.Usage;
            }
            if (UnknownOption(parse) is { } unknown)
            {
                ErrorReport.Write(error, json, command, ExitCode.Usage,
                    $"unknown option '{TextEscape.Escape(unknown)}'; see 'sklookup {(command.Length == 0 ? "" : command + " ")}--help' (put '--' before an argument that starts with '-')");
                return (int)ExitCode.Usage;
            }
            var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
            if (cancellation.CanBeCanceled)
                configuration.ProcessTerminationTimeout = null; // The caller stops us, not a signal.
            return parse.InvokeAsync(configuration, cancellation).GetAwaiter().GetResult();
        }
        catch (Exception exception)
        {
            // Command bodies report their own errors; this catches failures in the parser or the help.
            try
            {
                return ErrorReport.Write(error, json, command, exception);
            }
            catch (Exception)
            {
                error.WriteLine($"sklookup: internal error: {exception.GetType().Name}; this is a bug in sklookup, please report it with the command line");
                return (int)ExitCode.Failure;
            }
        }
    }

    /// <summary>The whole command tree.</summary>
    internal static Command BuildRootCommand()
    {
        // A plain command, not RootCommand, whose name comes from the executable: that is SkLookup.Cli
        // (or testhost in tests), while users type sklookup.
        var root = new Command("sklookup", "Steer TCP and UDP traffic to sockets by protocol, prefix and port with BPF sk_lookup.")
        {
            new HelpOption(),
            new VersionOption(),
            GlobalOptions.NetNs,
            GlobalOptions.BpfFs,
            GlobalOptions.LockTimeout,
            GlobalOptions.Json,
        };
        foreach (var command in DispatcherCommands.Create())
            root.Add(command);
        foreach (var command in BindingCommands.Create())
            root.Add(command);
        foreach (var command in SocketCommands.Create())
            root.Add(command);
        root.Add(StatusCommand.Create());
        root.Add(ExplainCommand.Create());
        root.Add(LabelCommands.Create());
        root.Add(MetricsCommand.Create());
        root.Add(VersionCommand.Create());
        root.Add(DemoCommand.Create());
        root.Add(ProgCommands.Create());
        foreach (var command in CompletionCommand.Create(() => root))
            root.Add(command);
        HelpWithFooter.Install(root);
        root.HelpFooter($"""
            Every command acts in one network namespace (--netns, default: the current one) and keeps its state
            pinned below --bpffs (default /sys/fs/bpf). Run 'sklookup COMMAND --help' for a command's arguments.

            {ExitCodes.Describe()}
            """);
        return root;
    }

    /// <summary>
    /// A word that looks like an option but that the parser took as an argument's value, e.g. the
    /// "--frob" of "status --frob", which would otherwise be read as a label. A lone "-" (stdin) is an
    /// argument, and so is everything after "--".
    /// </summary>
    private static string? UnknownOption(ParseResult parse)
    {
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
                return null;
            if (token.Type == TokenType.Argument && token.Value.Length > 1 && token.Value[0] == '-')
                return token.Value;
        }
        return null;
    }

    private static bool JsonRequested(ParseResult parse)
    {
        try
        {
            return parse.GetValue(GlobalOptions.Json);
        }
        catch (InvalidOperationException)
        {
            return false; // --json itself did not parse.
        }
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? current = result; current is CommandResult command && command.Parent is not null; current = command.Parent)
            names.Insert(0, command.Command.Name);
        return string.Join(' ', names);
    }
}
