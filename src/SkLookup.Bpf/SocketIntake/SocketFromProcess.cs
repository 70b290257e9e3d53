using System.Globalization;
using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// Takes sockets out of a running process: <c>pidfd_open</c> and <c>pidfd_getfd</c> (Linux 5.6)
/// duplicate another process's descriptor into this one, so a service that was started without any
/// knowledge of sk_lookup can still have its socket registered. The caller needs ptrace rights over the
/// process (PTRACE_MODE_ATTACH_REALCREDS): root, or the same user with CAP_SYS_PTRACE.
/// </summary>
public static class SocketFromProcess
{
    /// <summary>Duplicates descriptor <paramref name="fd"/> of process <paramref name="pid"/> into this process.</summary>
    /// <returns>An owned, close-on-exec descriptor of the same socket.</returns>
    /// <exception cref="BpfException">
    /// Reason <see cref="BpfErrorReason.NotFound"/> if there is no such process,
    /// <see cref="BpfErrorReason.BadFileDescriptor"/> if it has no such descriptor,
    /// <see cref="BpfErrorReason.WrongSocket"/> if the descriptor is not a socket,
    /// <see cref="BpfErrorReason.PermissionDenied"/> without ptrace rights over the process.
    /// </exception>
    public static FileDescriptor Take(int pid, int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        using var process = OpenProcess(pid);
        var socket = TakeDescriptor(process, pid, fd);
        try
        {
            // SO_TYPE is the cheapest call that answers ENOTSOCK for anything that is not a socket.
            SocketCalls.GetInt(socket, LibC.SOL_SOCKET, LibC.SO_TYPE, "the type (SO_TYPE)");
            return socket;
        }
        catch (BpfException exception) when (exception.Reason == BpfErrorReason.WrongSocket)
        {
            socket.Dispose();
            throw new BpfException($"fd {fd} of process {pid} is not a socket; list its sockets with `ls -l /proc/{pid}/fd`",
                Errno.ENOTSOCK, BpfErrorReason.WrongSocket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Finds which processes hold the sockets with the given <paramref name="cookies"/>. A lookup in a
    /// SOCKMAP yields cookies, not descriptors, so this walks every process's socket descriptors (as
    /// <c>ss -p</c> does) and compares cookies. Processes it may not inspect, or that exit meanwhile, are
    /// skipped. Returns the owners of each cookie that some process holds, in the order of <c>/proc</c>.
    /// </summary>
    public static IReadOnlyDictionary<ulong, IReadOnlyList<SocketOwner>> FindOwners(IReadOnlyCollection<ulong> cookies)
    {
        ArgumentNullException.ThrowIfNull(cookies);
        var owners = new Dictionary<ulong, List<SocketOwner>>();
        if (cookies.Count == 0)
            return new Dictionary<ulong, IReadOnlyList<SocketOwner>>();
        var wanted = new HashSet<ulong>(cookies);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                continue;
            IReadOnlyList<ProcessSocket> found;
            try
            {
                found = Find(pid, socket => wanted.Contains(socket.Cookie));
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
        return owners.ToDictionary(pair => pair.Key, pair => (IReadOnlyList<SocketOwner>)pair.Value);
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

    /// <summary>
    /// Takes every socket of process <paramref name="pid"/> (the "socket:[INODE]" entries of
    /// <c>/proc/PID/fd</c>) and returns those that <paramref name="match"/> accepts, each once even if
    /// the process holds it under several descriptors. The caller disposes the results.
    /// </summary>
    /// <example><c>Find(pid, s => s.IsListening &amp;&amp; s.LocalEndPoint?.Port == 8080)</c></example>
    public static IReadOnlyList<ProcessSocket> Find(int pid, Predicate<SocketDescription> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        // The pidfd comes first: it fails clearly for a missing process, and it pins the process, so a
        // recycled pid cannot hand us another process's descriptors while we walk /proc.
        using var process = OpenProcess(pid);
        var found = new List<ProcessSocket>();
        var seenInodes = new HashSet<ulong>();
        try
        {
            foreach (var (fd, inode) in ListSocketDescriptors(pid))
            {
                if (seenInodes.Contains(inode))
                    continue;
                var handle = TryTakeDescriptor(process, pid, fd);
                if (handle is null)
                    continue; // Closed since the listing.
                try
                {
                    // The descriptor may have been closed and reused for another socket since the listing,
                    // so the inode that counts for "each socket once" is the one we hold.
                    if (!seenInodes.Add(SocketCalls.GetInode(handle)))
                        continue;
                    var description = SocketDescription.Describe(handle);
                    if (match(description))
                    {
                        found.Add(new ProcessSocket(pid, fd, handle, description));
                        handle = null;
                    }
                }
                catch (BpfException exception) when (exception.Reason == BpfErrorReason.WrongSocket)
                {
                    // Reused for something that is not a socket since the listing.
                }
                finally
                {
                    handle?.Dispose();
                }
            }
            return found;
        }
        catch
        {
            foreach (var socket in found)
                socket.Dispose();
            throw;
        }
    }

    /// <summary>The descriptors of <paramref name="pid"/> that are sockets, with their socket inodes, in descriptor order.</summary>
    private static List<(int Fd, ulong Inode)> ListSocketDescriptors(int pid)
    {
        var directory = $"/proc/{pid}/fd";
        var result = new List<(int, ulong)>();
        IEnumerable<string> entries;
        try
        {
            entries = Directory.GetFileSystemEntries(directory);
        }
        catch (UnauthorizedAccessException)
        {
            throw new BpfException($"list the descriptors of process {pid}: permission denied reading {directory}; {PermissionHint}",
                Errno.EACCES, BpfErrorReason.PermissionDenied);
        }
        catch (DirectoryNotFoundException)
        {
            throw NoSuchProcess(pid, "list the descriptors of");
        }
        foreach (var entry in entries)
        {
            if (!int.TryParse(System.IO.Path.GetFileName(entry), out var fd))
                continue;
            string? target;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue; // Closed since the listing.
            }
            if (TryParseSocketLink(target, out var inode))
                result.Add((fd, inode));
        }
        result.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return result;
    }

    /// <summary>Parses a <c>/proc/PID/fd</c> link of the form "socket:[12345]".</summary>
    internal static bool TryParseSocketLink(string? target, out ulong inode)
    {
        const string Prefix = "socket:[";
        inode = 0;
        return target is not null && target.StartsWith(Prefix, StringComparison.Ordinal) && target.EndsWith(']') &&
               ulong.TryParse(target.AsSpan(Prefix.Length, target.Length - Prefix.Length - 1), out inode);
    }

    private static FileDescriptor OpenProcess(int pid)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        var pidfd = LibC.Syscall(LibC.SYS_pidfd_open, pid, 0, 0);
        if (pidfd >= 0)
            return new FileDescriptor((int)pidfd, ownsHandle: true);
        var errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            Errno.ESRCH => NoSuchProcess(pid, "open"),
            LibC.ENOSYS => new BpfNotSupportedException("pidfd_open", "5.3", errno),
            _ => Errno.ToException($"open process {pid} (pidfd_open)", errno),
        };
    }

    private static FileDescriptor TakeDescriptor(FileDescriptor process, int pid, int fd) =>
        TryTakeDescriptor(process, pid, fd) ?? throw new BpfException(
            $"take fd {fd} of process {pid}: the process has no such descriptor (EBADF); list them with `ls -l /proc/{pid}/fd`",
            Errno.EBADF, BpfErrorReason.BadFileDescriptor);

    /// <summary>Duplicates the descriptor, or returns null if the process has no such descriptor.</summary>
    private static FileDescriptor? TryTakeDescriptor(FileDescriptor process, int pid, int fd)
    {
        // pidfd_getfd always sets close-on-exec on the new descriptor.
        var copy = LibC.Syscall(LibC.SYS_pidfd_getfd, process.Value, fd, 0);
        if (copy >= 0)
            return new FileDescriptor((int)copy, ownsHandle: true);
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.EBADF)
            return null;
        throw errno switch
        {
            Errno.ESRCH => NoSuchProcess(pid, $"take fd {fd} of"),
            Errno.EPERM or Errno.EACCES => new BpfException(
                $"take fd {fd} of process {pid}: permission denied ({Errno.Name(errno)}); {PermissionHint}", errno, BpfErrorReason.PermissionDenied),
            LibC.ENOSYS => new BpfNotSupportedException("pidfd_getfd", "5.6", errno),
            _ => Errno.ToException($"take fd {fd} of process {pid} (pidfd_getfd)", errno),
        };
    }

    private static BpfException NoSuchProcess(int pid, string operation) =>
        new($"{operation} process {pid}: no such process (ESRCH); check the pid, the process may have exited", Errno.ESRCH, BpfErrorReason.NotFound);

    private const string PermissionHint =
        "taking another process's socket needs ptrace rights over it (PTRACE_MODE_ATTACH_REALCREDS): run as root, " +
        "or as the same user with CAP_SYS_PTRACE, and check kernel.yama.ptrace_scope";
}
