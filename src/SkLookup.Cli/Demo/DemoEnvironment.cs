using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;

namespace SkLookup.Cli.Demo;

/// <summary>
/// What the demo sets up and must always take down: a private network namespace with local routes for
/// the documentation ranges, a private bpffs mounted on a temporary directory, and the sockets. Nothing
/// of it touches the machine's own namespace or /sys/fs/bpf.
/// </summary>
internal sealed class DemoEnvironment : IDisposable
{
    private readonly List<DemoSocket> _sockets = [];

    private DemoEnvironment(NetworkNamespace netns, string bpffs)
    {
        NetNs = netns;
        BpfFs = bpffs;
    }

    /// <summary>The private namespace.</summary>
    public NetworkNamespace NetNs { get; }

    /// <summary>The private bpffs mount point.</summary>
    public string BpfFs { get; }

    /// <summary>The sockets created so far.</summary>
    public IReadOnlyList<DemoSocket> Sockets => _sockets;

    /// <summary>Creates the namespace, routes <see cref="DemoScenario.LocalRoutes"/> to its lo, and mounts the bpffs.</summary>
    public static DemoEnvironment Create()
    {
        var netns = NetworkNamespace.CreatePrivate();
        string? directory = null;
        var mounted = false;
        try
        {
            netns.Run(() =>
            {
                foreach (var route in DemoScenario.LocalRoutes)
                    LocalRoutes.Add(route.BaseAddress, route.PrefixLength);
            });
            directory = Directory.CreateTempSubdirectory("sklookup-demo-").FullName;
            BpfFileSystem.Mount(directory);
            mounted = true;
            return new DemoEnvironment(netns, directory);
        }
        catch
        {
            if (mounted)
                BpfFileSystem.Unmount(directory!);
            if (directory is not null)
                Directory.Delete(directory);
            netns.Dispose();
            throw;
        }
    }

    /// <summary>Creates a TCP listener or a bound UDP socket for <paramref name="label"/> inside the namespace.</summary>
    public DemoSocket Open(string label, Protocol protocol, IPEndPoint endPoint)
    {
        var socket = NetNs.Run(() =>
        {
            var created = protocol == Protocol.Tcp
                ? new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
                : new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                    created.DualMode = false;
                created.Bind(endPoint);
                if (protocol == Protocol.Tcp)
                    created.Listen(64);
                return created;
            }
            catch
            {
                created.Dispose();
                throw;
            }
        });
        var demoSocket = new DemoSocket(label, protocol, socket);
        _sockets.Add(demoSocket);
        return demoSocket;
    }

    /// <summary>
    /// Takes everything down, each step even if an earlier one failed: the dispatcher, the sockets, the
    /// bpffs mount and its directory, and the namespace. Returns what failed, or null.
    /// </summary>
    public string? TearDown()
    {
        var failures = new List<string>();
        void Step(string what, Action action)
        {
            try
            {
                action();
            }
            catch (Exception exception)
            {
                failures.Add($"{what}: {exception.Message}");
            }
        }
        Step("unload the dispatcher", () => Dispatcher.Unload(NetNs, BpfFs));
        foreach (var socket in _sockets)
            socket.Socket.Dispose();
        _sockets.Clear();
        Step($"unmount {BpfFs}", () => BpfFileSystem.Unmount(BpfFs));
        Step($"remove {BpfFs}", () => Directory.Delete(BpfFs));
        NetNs.Dispose();
        return failures.Count == 0 ? null : string.Join("; ", failures);
    }

    /// <summary>Same as <see cref="TearDown"/>, ignoring failures (for error paths that report something else).</summary>
    public void Dispose()
    {
        if (!NetNs.Handle.IsClosed)
            TearDown();
    }
}
