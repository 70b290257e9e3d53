namespace SkLookup.Cli;

/// <summary>A failure the tool detected itself. The message is one line: what failed, why, and what to do.</summary>
internal sealed class CliException(ExitCode exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The exit code the process ends with.</summary>
    public ExitCode ExitCode { get; } = exitCode;
}
