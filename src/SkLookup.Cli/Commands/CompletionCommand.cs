using System.CommandLine;
using System.Globalization;
using SkLookup.Cli.Docs;

namespace SkLookup.Cli.Commands;

/// <summary>
/// <c>sklookup completion bash|zsh</c> prints a completion script, and the hidden <c>sklookup manpage</c> the man
/// page: both from the command tree that <c>--help</c> prints, so the package builds them instead of keeping copies.
/// </summary>
internal static class CompletionCommand
{
    /// <summary>The two commands; <paramref name="root"/> is read when they run, so it holds every command by then.</summary>
    public static IEnumerable<Command> Create(Func<Command> root)
    {
        var shell = new Argument<string>("SHELL") { Description = "bash or zsh" };
        var completion = new Command("completion", "Print a shell completion script for bash or zsh") { shell };
        completion.HelpFooter("""
            The Debian package installs both. By hand:
              sklookup completion bash > /etc/bash_completion.d/sklookup
              sklookup completion zsh > /usr/local/share/zsh/site-functions/_sklookup
            """);
        completion.Runs("completion", context =>
        {
            var model = CommandModel.Of(root());
            var script = context.Get(shell) switch
            {
                "bash" => Completions.Bash(model),
                "zsh" => Completions.Zsh(model),
                var other => throw new CliException(ExitCode.Usage, $"shell '{TextEscape.Escape(other)}' is not one sklookup completes: use bash or zsh"),
            };
            context.Out.Write(script);
            context.Out.Flush();
            return ExitCode.Ok;
        });
        yield return completion;

        var date = new Option<string?>("--date") { Description = "The date in the page's header (default: today, or SOURCE_DATE_EPOCH)", HelpName = "YYYY-MM-DD" };
        var manpage = new Command("manpage", "Print the man page, sklookup(8), in roff") { date };
        manpage.Hidden = true;
        manpage.Runs("manpage", context =>
        {
            var when = context.Get(date) ?? DefaultDate();
            context.Out.Write(ManPage.Render(CommandModel.Of(root()), when, VersionCommand.ToolVersion));
            context.Out.Flush();
            return ExitCode.Ok;
        });
        yield return manpage;
    }

    /// <summary>Reproducible builds set SOURCE_DATE_EPOCH; otherwise today.</summary>
    private static string DefaultDate()
    {
        var epoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        var when = long.TryParse(epoch, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : DateTimeOffset.UtcNow;
        return when.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }
}
