using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;

namespace SkLookup.TestKit;

/// <summary>
/// A private network namespace for one test: lo is up, and it dies with this object (taking any
/// attached links with it). Sockets must be created through <see cref="Run{T}"/> to live inside it.
/// </summary>
public sealed class TestNetNs : IDisposable
{
    /// <summary>Creates the namespace.</summary>
    public TestNetNs() => Namespace = NetworkNamespace.CreatePrivate();

    /// <summary>The namespace.</summary>
    public NetworkNamespace Namespace { get; }

    /// <summary>Runs <paramref name="action"/> inside the namespace on a dedicated thread.</summary>
    public T Run<T>(Func<T> action) => Namespace.Run(action);

    /// <summary>Runs <paramref name="action"/> inside the namespace on a dedicated thread.</summary>
    public void Run(Action action) => Namespace.Run(action);

    /// <summary>Routes a prefix locally through lo, e.g. "192.0.2.0/24".</summary>
    public void AddLocalRoute(string prefix)
    {
        var slash = prefix.IndexOf('/');
        Run(() => LocalRoutes.Add(IPAddress.Parse(prefix[..slash]), int.Parse(prefix[(slash + 1)..])));
    }

    /// <summary>Lets sockets bind to addresses that are not configured here (both families).</summary>
    public void AllowNonLocalBind() => Run(() =>
    {
        File.WriteAllText("/proc/sys/net/ipv4/ip_nonlocal_bind", "1");
        File.WriteAllText("/proc/sys/net/ipv6/ip_nonlocal_bind", "1");
    });

    /// <summary>Creates a listening TCP socket bound to <paramref name="endPoint"/> inside the namespace.</summary>
    public Socket Listen(IPEndPoint endPoint, bool reusePort = false, bool dualStack = false) => Run(() =>
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = dualStack;
            if (reusePort)
                socket.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, BitConverter.GetBytes(1));
            socket.Bind(endPoint);
            socket.Listen(64);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    });

    /// <summary>Creates a bound UDP socket inside the namespace.</summary>
    public Socket BindUdp(IPEndPoint endPoint, bool reusePort = false, bool dualStack = false) => Run(() =>
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = dualStack;
            if (reusePort)
                socket.SetRawSocketOption(1, 15, BitConverter.GetBytes(1));
            socket.Bind(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    });

    /// <summary>Creates an unbound socket of the given kind inside the namespace.</summary>
    public Socket Socket(AddressFamily family, SocketType type, ProtocolType protocol) =>
        Run(() => new Socket(family, type, protocol));

    /// <summary>Kills the namespace (once nothing else holds it).</summary>
    public void Dispose() => Namespace.Dispose();
}
