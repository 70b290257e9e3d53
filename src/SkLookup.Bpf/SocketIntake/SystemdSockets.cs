using System.Globalization;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// systemd socket activation, as <c>sd_listen_fds_with_names</c> implements it: when LISTEN_PID names
/// this process, the LISTEN_FDS descriptors starting at 3 are ours, named by LISTEN_FDNAMES.
/// </summary>
public static class SystemdSockets
{
    /// <summary>The first passed descriptor (<c>SD_LISTEN_FDS_START</c>).</summary>
    public const int FirstFd = 3;

    /// <summary>The variables of the protocol.</summary>
    public const string ListenPidVariable = "LISTEN_PID", ListenFdsVariable = "LISTEN_FDS", ListenFdNamesVariable = "LISTEN_FDNAMES";

    /// <summary>
    /// The descriptors systemd passed to this process, each set close-on-exec and described, or an empty
    /// list when the process was not socket-activated (no LISTEN_PID, or it names another process).
    /// The results own the descriptors, so call this once (or pass <paramref name="unsetEnvironment"/>,
    /// after which later calls return an empty list).
    /// </summary>
    /// <param name="unsetEnvironment">
    /// Removes the three variables (whatever the outcome, as <c>sd_listen_fds(1)</c> does), so that child
    /// processes started through .NET do not inherit them. It changes .NET's view of the environment,
    /// which is what <see cref="System.Diagnostics.Process"/> passes on; native <c>getenv</c> still sees them.
    /// </param>
    /// <exception cref="BpfException">Reason <see cref="BpfErrorReason.InvalidArgument"/> when the variables are malformed.</exception>
    public static IReadOnlyList<SystemdSocket> Listen(bool unsetEnvironment = false)
    {
        var environment = new Dictionary<string, string>();
        foreach (var name in new[] { ListenPidVariable, ListenFdsVariable, ListenFdNamesVariable })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
                environment[name] = value;
        }
        try
        {
            return Listen(environment, Environment.ProcessId, FirstFd);
        }
        finally
        {
            if (unsetEnvironment)
            {
                Environment.SetEnvironmentVariable(ListenPidVariable, null);
                Environment.SetEnvironmentVariable(ListenFdsVariable, null);
                Environment.SetEnvironmentVariable(ListenFdNamesVariable, null);
            }
        }
    }

    /// <summary>
    /// <see cref="Listen(bool)"/> on a given environment, process id and first descriptor, so that tests
    /// can pass real sockets at descriptors that are free in the test process.
    /// </summary>
    internal static IReadOnlyList<SystemdSocket> Listen(IReadOnlyDictionary<string, string> environment, int processId, int firstFd)
    {
        var names = ParseEnvironment(environment, processId);
        var result = new List<SystemdSocket>(names.Count);
        try
        {
            for (var i = 0; i < names.Count; i++)
            {
                var fd = firstFd + i;
                SetCloseOnExec(fd);
                var handle = new FileDescriptor(fd, ownsHandle: true);
                result.Add(new SystemdSocket(names[i], fd, handle, TryDescribe(handle)));
            }
            return result;
        }
        catch
        {
            // Like sd_listen_fds, a failure closes nothing: the descriptors stay as they were passed.
            foreach (var socket in result)
                socket.Handle.SetHandleAsInvalid();
            throw;
        }
    }

    /// <summary>
    /// Reads the names of the passed descriptors from the environment: empty when the variables are
    /// missing or are meant for another process; an error when they are malformed.
    /// </summary>
    internal static IReadOnlyList<string> ParseEnvironment(IReadOnlyDictionary<string, string> environment, int processId)
    {
        if (!environment.TryGetValue(ListenPidVariable, out var pidText))
            return [];
        if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
            throw Malformed($"{ListenPidVariable}={pidText} is not a process id");
        if (pid != processId)
            return []; // Inherited from a parent that was activated, not meant for us.

        if (!environment.TryGetValue(ListenFdsVariable, out var countText))
            return [];
        if (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count > MaxDescriptors)
            throw Malformed($"{ListenFdsVariable}={countText} is not a descriptor count");
        if (count == 0)
            return [];

        if (!environment.TryGetValue(ListenFdNamesVariable, out var namesText))
            return Enumerable.Repeat("unknown", count).ToArray();
        var names = namesText.Split(':');
        if (names.Length != count)
            throw Malformed($"{ListenFdNamesVariable} has {names.Length} names but {ListenFdsVariable}={count}");
        return names;
    }

    private static void SetCloseOnExec(int fd)
    {
        var flags = LibC.Fcntl(fd, LibC.F_GETFD, 0);
        if (flags < 0 || LibC.Fcntl(fd, LibC.F_SETFD, flags | LibC.FD_CLOEXEC) < 0)
            throw Errno.Last($"set close-on-exec on passed fd {fd} (LISTEN_FDS says it is open)");
    }

    private static SocketDescription? TryDescribe(FileDescriptor handle)
    {
        try
        {
            return SocketDescription.Describe(handle);
        }
        catch (BpfException exception) when (exception.Reason == BpfErrorReason.WrongSocket)
        {
            return null; // systemd also passes FIFOs and special files.
        }
    }

    private static BpfException Malformed(string problem) =>
        new($"read systemd socket activation: {problem}; start the service from a .socket unit or unset the LISTEN_* variables",
            Errno.EINVAL, BpfErrorReason.InvalidArgument);

    /// <summary>A sanity bound far above systemd's own limit on passed descriptors, against garbage in LISTEN_FDS.</summary>
    private const int MaxDescriptors = 65536;
}
