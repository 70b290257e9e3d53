using System.Globalization;
using SkLookup.Bpf;

namespace SkLookup.Cli;

/// <summary>A process that holds a registered socket.</summary>
/// <param name="ProcessId">Its pid.</param>
/// <param name="Command">Its name (<c>/proc/PID/comm</c>).</param>
/// <param name="Fd">The descriptor it holds the socket under.</param>
internal sealed record SocketOwner(int ProcessId, string Command, int Fd)
{
    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Command}[{ProcessId}] fd {Fd}");
}

/// <summary>
/// Finds which processes hold the sockets with given cookies. The sockets map yields cookies, not
/// descriptors, so this walks every process's socket descriptors (as <c>ss -p</c> does) and compares
/// cookies. Processes it may not inspect, or that exit meanwhile, are skipped.
/// </summary>
internal static class SocketOwners
{
    /// <summary>The owners of each cookie in <paramref name="cookies"/> that some process holds.</summary>
    public static Dictionary<ulong, List<SocketOwner>> Find(IReadOnlyCollection<ulong> cookies)
    {
        var owners = new Dictionary<ulong, List<SocketOwner>>();
        if (cookies.Count == 0)
            return owners;
        var wanted = new HashSet<ulong>(cookies);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                continue;
            IReadOnlyList<ProcessSocket> found;
            try
            {
                found = SocketFromProcess.Find(pid, socket => wanted.Contains(socket.Cookie));
            }
            catch (BpfException)
            {
                continue; // Exited, a kernel thread, or not ours to inspect.
            }
            catch (IOException)
            {
                continue;
            }
            foreach (var socket in found)
            {
                using (socket)
                {
                    if (!owners.TryGetValue(socket.Description.Cookie, out var list))
                        owners[socket.Description.Cookie] = list = [];
                    list.Add(new SocketOwner(pid, CommandOf(pid), socket.Fd));
                }
            }
        }
        return owners;
    }

    private static string CommandOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "?";
        }
        catch (UnauthorizedAccessException)
        {
            return "?";
        }
    }
}
