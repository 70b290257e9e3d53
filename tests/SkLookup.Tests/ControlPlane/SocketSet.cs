using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;

namespace SkLookup.Tests.ControlPlane;

/// <summary>One socket per label and traffic class, registered with a dispatcher, so a test run's cookie names the label that received it.</summary>
internal sealed class SocketSet : IDisposable
{
    private readonly Dictionary<ulong, string> _labelsByCookie = [];
    private readonly List<Socket> _sockets = [];

    public SocketSet(Scenario scenario, IEnumerable<string> labels, int firstPort = 20000)
    {
        var port = firstPort;
        try
        {
            foreach (var label in labels)
            {
                foreach (var (family, protocol) in new[] { (Family.IPv4, Protocol.Tcp), (Family.IPv4, Protocol.Udp), (Family.IPv6, Protocol.Tcp), (Family.IPv6, Protocol.Udp) })
                {
                    var endPoint = new IPEndPoint(family == Family.IPv4 ? IPAddress.Loopback : IPAddress.IPv6Loopback, port++);
                    var socket = protocol == Protocol.Tcp ? scenario.NetNs.Listen(endPoint) : scenario.NetNs.BindUdp(endPoint);
                    _sockets.Add(socket);
                    var status = scenario.D.RegisterSocket(label, socket);
                    Assert.Equal(SocketCookie.Read(socket), status.SocketCookie);
                    _labelsByCookie[status.SocketCookie!.Value] = label;
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The label whose socket has <paramref name="cookie"/>, or null for 0 (no socket selected).</summary>
    public string? LabelOf(ulong cookie) => cookie == 0 ? null : _labelsByCookie[cookie];

    public void Dispose()
    {
        foreach (var socket in _sockets)
            socket.Dispose();
    }
}
