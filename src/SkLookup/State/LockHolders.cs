using System.Globalization;

namespace SkLookup.State;

/// <summary>
/// Who holds the flock on a state directory, for the lock-timeout message: the processes that /proc/locks
/// lists with a FLOCK and that have the directory open (found through /proc/PID/fd).
/// </summary>
internal static class LockHolders
{
    /// <summary>The pids (and command names) of the holders of a lock on <paramref name="path"/>; empty if none can be seen.</summary>
    public static IReadOnlyList<(int Pid, string Command)> Find(string path)
    {
        var holders = new List<(int, string)>();
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/proc/locks");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return holders;
        }
        var full = System.IO.Path.GetFullPath(path).TrimEnd('/');
        var seen = new HashSet<int>();
        foreach (var line in lines)
        {
            // "1: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF" (a "->" marks a waiter, not a holder).
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 5 || fields[1] != "FLOCK" || !int.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || !seen.Add(pid))
                continue;
            if (Holds(pid, full))
                holders.Add((pid, Command(pid)));
        }
        return holders;
    }

    /// <summary>" (held by pid 1234, sklookup)" or "" when the holder cannot be seen (another pid namespace, no /proc access).</summary>
    public static string Describe(string path)
    {
        var holders = Find(path);
        return holders.Count == 0
            ? ""
            : " (held by " + string.Join(", ", holders.Select(h => $"pid {h.Pid.ToString(CultureInfo.InvariantCulture)}, {TextEscape.Escape(h.Command)}")) + ")";
    }

    private static bool Holds(int pid, string path)
    {
        try
        {
            // Entries, not files: a link to a directory (the state directory) counts as a directory.
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.TrimEnd('/') == path)
                        return true;
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    // The fd closed meanwhile.
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The process exited, or we may not look.
        }
        return false;
    }

    private static string Command(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm").Trim();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }
}
