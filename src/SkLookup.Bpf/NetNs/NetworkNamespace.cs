using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// A handle on a network namespace (an open <c>/proc/.../ns/net</c> file). <c>setns(2)</c> changes the
/// calling thread only, and an <c>await</c> may resume on another thread, so code that must run inside
/// a namespace goes through <see cref="Run{T}"/>, which uses a dedicated thread.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private NetworkNamespace(FileDescriptor handle, string path)
    {
        Handle = handle;
        Path = path;
        Inode = ReadInode(handle);
    }

    /// <summary>The namespace's file descriptor.</summary>
    public FileDescriptor Handle { get; }

    /// <summary>The path it was opened from.</summary>
    public string Path { get; }

    /// <summary>The namespace's inode number, which identifies it (as in <c>ls -l /proc/self/ns/net</c>).</summary>
    public ulong Inode { get; }

    /// <summary>The calling thread's namespace.</summary>
    public static NetworkNamespace Current() => Open("/proc/thread-self/ns/net");

    /// <summary>Opens the namespace at <paramref name="path"/>, e.g. <c>/var/run/netns/NAME</c> or <c>/proc/PID/ns/net</c>.</summary>
    public static unsafe NetworkNamespace Open(string path)
    {
        var fd = FileDescriptor.OpenReadOnly(path);
        try
        {
            // NS_GET_NSTYPE answers only for nsfs files, and names the kind of namespace; every kind
            // lives on nsfs, so the file system alone cannot tell a network namespace from a mount one.
            var type = LibC.Ioctl(fd.Value, NsGetNsType, null);
            if (type != LibC.CLONE_NEWNET)
                throw new BpfException($"{path} is not a network namespace{(type < 0 ? "" : " but another kind of namespace")}: open /proc/PID/ns/net or a file under /var/run/netns",
                    type < 0 ? Marshal.GetLastPInvokeError() : 0, BpfErrorReason.InvalidArgument);
            return new NetworkNamespace(fd, path);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Opens the namespace of process <paramref name="pid"/>.</summary>
    public static NetworkNamespace OpenByPid(int pid) => Open($"/proc/{pid}/ns/net");

    /// <summary>
    /// Creates a new, empty namespace (with <c>lo</c> up) that lives as long as the returned handle or
    /// anything else holds it. Needs CAP_SYS_ADMIN.
    /// </summary>
    public static NetworkNamespace CreatePrivate()
    {
        return RunOnDedicatedThread(() =>
        {
            if (LibC.Unshare(LibC.CLONE_NEWNET) != 0)
                throw Errno.Last("create a network namespace (unshare CLONE_NEWNET)");
            var threadPath = $"/proc/{LibC.Getpid()}/task/{LibC.Gettid()}/ns/net";
            var handle = FileDescriptor.OpenReadOnly(threadPath);
            // The thread ends soon, and its /proc path with it; the fd's path stays valid while the handle is open.
            var netns = new NetworkNamespace(handle, $"/proc/{LibC.Getpid()}/fd/{handle.Value}");
            try
            {
                Interfaces.SetUp("lo");
                return netns;
            }
            catch
            {
                netns.Dispose();
                throw;
            }
        });
    }

    /// <summary>Runs <paramref name="action"/> on a dedicated thread that has entered this namespace.</summary>
    public T Run<T>(Func<T> action)
    {
        var fd = Handle.Value;
        return RunOnDedicatedThread(() =>
        {
            if (LibC.Setns(fd, LibC.CLONE_NEWNET) != 0)
                throw Errno.Last($"enter network namespace {Path}");
            return action();
        });
    }

    /// <summary>Runs <paramref name="action"/> on a dedicated thread that has entered this namespace.</summary>
    public void Run(Action action) => Run(() =>
    {
        action();
        return true;
    });

    /// <summary>
    /// The ids of the programs attached to this namespace for <paramref name="attachType"/>, in the order
    /// they run (BPF_PROG_QUERY).
    /// </summary>
    public unsafe IReadOnlyList<uint> QueryPrograms(AttachType attachType = AttachType.SkLookup)
    {
        const int MaxPrograms = 64; // The kernel's limit of links per netns attach point.
        var ids = stackalloc uint[MaxPrograms];
        var attr = new ProgQueryAttr { TargetFd = (uint)Handle.Value, AttachType = (uint)attachType, ProgIds = (ulong)ids, ProgCount = MaxPrograms };
        Interop.BpfSyscall.Invoke(Interop.BpfCommand.ProgQuery, ref attr, $"query programs of {this}");
        var result = new uint[attr.ProgCount];
        for (var i = 0; i < result.Length; i++)
            result[i] = ids[i];
        return result;
    }

    /// <summary>True if the calling thread is in this namespace.</summary>
    public bool IsCurrent
    {
        get
        {
            using var current = Current();
            return current.Inode == Inode;
        }
    }

    private static T RunOnDedicatedThread<T>(Func<T> action)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        // The thread ends after the action, taking its namespace membership with it.
        var thread = new Thread(() =>
        {
            try
            {
                result = action();
            }
            catch (Exception exception)
            {
                failure = ExceptionDispatchInfo.Capture(exception);
            }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "netns" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    private static ulong ReadInode(FileDescriptor fd)
    {
        if (LibC.Fstat(fd.Value, out var stat) != 0)
            throw Errno.Last("stat network namespace");
        return stat.Inode;
    }

    /// <summary>NS_GET_NSTYPE, <c>_IO(0xb7, 0x3)</c> from linux/nsfs.h.</summary>
    private const ulong NsGetNsType = 0xb703;

    /// <summary>Closes the handle; the namespace dies when nothing else holds it.</summary>
    public void Dispose() => Handle.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"netns {Inode} ({Path})";
}
