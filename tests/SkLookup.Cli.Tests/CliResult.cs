using System.Text.Json;

namespace SkLookup.Cli.Tests;

/// <summary>What one run of the tool produced.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Output">Everything written to stdout.</param>
/// <param name="Error">Everything written to stderr.</param>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    /// <summary>Stdout parsed as JSON.</summary>
    public JsonElement Json() => JsonDocument.Parse(Output).RootElement;

    /// <summary>Stderr parsed as JSON (errors under --json).</summary>
    public JsonElement ErrorJson() => JsonDocument.Parse(Error).RootElement;

    /// <summary>Fails unless the run succeeded, showing stderr.</summary>
    public CliResult AssertOk()
    {
        Assert.True(ExitCode == 0, $"exit code {ExitCode}; stderr: {Error}; stdout: {Output}");
        return this;
    }

    /// <summary>Fails unless the run failed with <paramref name="exitCode"/> and exactly one line on stderr that starts "sklookup: ".</summary>
    public CliResult AssertOneLineError(int exitCode)
    {
        Assert.True(ExitCode == exitCode, $"exit code {ExitCode}, expected {exitCode}; stderr: {Error}; stdout: {Output}");
        var lines = Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("sklookup: ", lines[0]);
        Assert.DoesNotContain("   at ", Error); // No stack trace.
        return this;
    }

    /// <inheritdoc />
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}
