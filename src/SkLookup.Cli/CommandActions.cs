using System.CommandLine;

namespace SkLookup.Cli;

/// <summary>Binds command bodies to commands, so that every body runs inside the same error handling.</summary>
internal static class CommandActions
{
    /// <summary>Runs <paramref name="body"/> when <paramref name="command"/> is invoked; <paramref name="path"/> names it in errors.</summary>
    public static Command Runs(this Command command, string path, Func<CommandContext, ExitCode> body)
    {
        command.SetAction(parse =>
        {
            var context = new CommandContext(parse, path);
            try
            {
                return (int)body(context);
            }
            catch (Exception exception)
            {
                return ErrorReport.Write(context.Error, context.Json, path, exception);
            }
        });
        return command;
    }

    /// <summary>Runs a long-running <paramref name="body"/> that stops when the token is cancelled (Ctrl+C, SIGTERM).</summary>
    public static Command RunsAsync(this Command command, string path, Func<CommandContext, Task<ExitCode>> body)
    {
        command.SetAction(async (parse, cancellation) =>
        {
            var context = new CommandContext(parse, path, cancellation);
            try
            {
                return (int)await body(context).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return (int)ExitCode.Ok;
            }
            catch (Exception exception)
            {
                return ErrorReport.Write(context.Error, context.Json, path, exception);
            }
        });
        return command;
    }

    /// <summary>Adds <paramref name="text"/> (examples, notes) below the command's <c>--help</c>.</summary>
    public static Command HelpFooter(this Command command, string text)
    {
        HelpWithFooter.Footers.AddOrUpdate(command, text);
        return command;
    }
}
