using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>
/// A socket a candidate may select in a test run: a listening TCP or a bound UDP socket of the shape's
/// family (IPv6-only for IPv6, as <c>bpf_sk_assign</c> wants), on loopback inside its own private
/// namespace, so nothing of the benchmark lives in the machine's own namespace.
/// </summary>
internal sealed class TestRunSocket : IDisposable
{
    private readonly NetworkNamespace _netns;

    private TestRunSocket(NetworkNamespace netns, Socket socket)
    {
        _netns = netns;
        Socket = socket;
    }

    /// <summary>The socket.</summary>
    public Socket Socket { get; }

    /// <summary>Opens a socket for <paramref name="shape"/>.</summary>
    public static TestRunSocket Open(LookupShape shape)
    {
        var netns = NetworkNamespace.CreatePrivate();
        try
        {
            var socket = netns.Run(() =>
            {
                var created = new Socket(shape.Family, shape.IsTcp ? SocketType.Stream : SocketType.Dgram, shape.Protocol);
                try
                {
                    if (shape.IsIPv6)
                        created.DualMode = false;
                    created.Bind(new IPEndPoint(shape.IsIPv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
                    if (shape.IsTcp)
                        created.Listen(16);
                    return created;
                }
                catch
                {
                    created.Dispose();
                    throw;
                }
            });
            return new TestRunSocket(netns, socket);
        }
        catch
        {
            netns.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Socket.Dispose();
        _netns.Dispose();
    }
}
