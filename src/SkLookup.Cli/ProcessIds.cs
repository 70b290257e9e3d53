using System.Globalization;

namespace SkLookup.Cli;

/// <summary>
/// The PID argument of <c>register-pid</c>: one pid, several (as <c>pidof</c> prints them, space-separated,
/// or comma-separated), or the path of a pidfile that holds them.
/// </summary>
internal static class ProcessIds
{
    /// <summary>Pidfiles hold a line or a few; anything larger is not one.</summary>
    private const int MaxPidFileBytes = 64 * 1024;

    private static readonly char[] s_separators = [' ', '\t', '\n', '\r', ','];

    /// <summary>The pids <paramref name="text"/> names, in its order, each once.</summary>
    /// <exception cref="CliException">A usage error naming what is not a pid, or the pidfile that cannot be read.</exception>
    public static IReadOnlyList<int> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.AsSpan().Trim().IsEmpty)
            throw new CliException(ExitCode.Usage, "PID is empty; pass a process id, several (\"$(pidof NAME)\"), or a pidfile");
        var isList = text.AsSpan().IndexOfAnyExcept("0123456789 \t\n\r,") < 0;
        return isList ? ParseList(text, source: null) : ParseList(ReadPidFile(text), source: text);
    }

    private static string ReadPidFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
                throw new CliException(ExitCode.Usage, $"'{path}' is neither a process id nor a pidfile that exists; pass a pid, several (\"$(pidof NAME)\"), or a pidfile such as /run/NAME.pid");
            if (info.Length > MaxPidFileBytes)
                throw new CliException(ExitCode.Usage, $"pidfile {path} is {info.Length} bytes, too large for a pidfile; pass a file that holds process ids");
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCode.Usage, $"cannot read pidfile {path}: {exception.Message}; pass a readable pidfile, or the pids themselves", exception);
        }
    }

    private static List<int> ParseList(string text, string? source)
    {
        var pids = new List<int>();
        foreach (var word in text.Split(s_separators, StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
            {
                var where = source is null ? "" : $" in pidfile {source}";
                throw new CliException(ExitCode.Usage, $"'{Printable(word)}'{where} is not a process id; pass positive numbers, e.g. 1234 or \"$(pidof NAME)\"");
            }
            if (!pids.Contains(pid))
                pids.Add(pid);
        }
        if (pids.Count == 0)
            throw new CliException(ExitCode.Usage, source is null
                ? "PID names no process; pass a process id, several (\"$(pidof NAME)\"), or a pidfile"
                : $"pidfile {source} holds no process id; is the service running?");
        return pids;
    }

    /// <summary>The word with control characters replaced, so that an error line stays one clean line.</summary>
    private static string Printable(string word)
    {
        var shown = word.Length > 40 ? word[..40] + "..." : word;
        return string.Create(shown.Length, shown, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
        });
    }
}
