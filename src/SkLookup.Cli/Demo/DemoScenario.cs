using System.Net;

namespace SkLookup.Cli.Demo;

/// <summary>
/// The seed's two use cases, for TCP and UDP over IPv4 and IPv6: a whole prefix on port 80 goes to one
/// socket (label web), and every port of one address goes to another (label proxy). The addresses are
/// documentation ranges, routed locally inside the demo's private namespace.
/// </summary>
internal static class DemoScenario
{
    /// <summary>The prefixes routed to the namespace's lo, so that it accepts traffic for them.</summary>
    public static readonly IReadOnlyList<IPNetwork> LocalRoutes =
    [
        IPNetwork.Parse("192.0.2.0/24"),
        IPNetwork.Parse("198.51.100.1/32"),
        IPNetwork.Parse("2001:db8::/64"),
        IPNetwork.Parse("2001:db8:1::1/128"),
    ];

    /// <summary>web: 192.0.2.0/24 and 2001:db8::/64 port 80; proxy: 198.51.100.1 and 2001:db8:1::1, any port; each for TCP and UDP.</summary>
    public static IReadOnlyList<Binding> Bindings()
    {
        var bindings = new List<Binding>();
        foreach (var protocol in new[] { "tcp", "udp" })
        {
            bindings.Add(Binding.Parse("web", protocol, "192.0.2.0/24", "80"));
            bindings.Add(Binding.Parse("web", protocol, "2001:db8::/64", "80"));
            bindings.Add(Binding.Parse("proxy", protocol, "198.51.100.1", "any"));
            bindings.Add(Binding.Parse("proxy", protocol, "2001:db8:1::1", "any"));
        }
        return bindings;
    }

    /// <summary>Where each label's sockets are bound: loopback on ports that no binding mentions, to show that the address does not matter.</summary>
    public static readonly IReadOnlyList<(string Label, IPEndPoint EndPoint)> Sockets =
    [
        ("web", IPEndPoint.Parse("127.0.0.1:8080")),
        ("web", IPEndPoint.Parse("[::1]:8080")),
        ("proxy", IPEndPoint.Parse("127.0.0.1:9090")),
        ("proxy", IPEndPoint.Parse("[::1]:9090")),
    ];

    /// <summary>
    /// The traffic to send, for each protocol: several addresses in the web prefixes, several ports of the
    /// proxy addresses, and one destination that matches no binding (and where nothing listens).
    /// </summary>
    public static IReadOnlyList<(Protocol Protocol, IPEndPoint Destination)> Traffic()
    {
        string[] destinations =
        [
            "192.0.2.1:80", "192.0.2.77:80", "192.0.2.254:80", "[2001:db8::1]:80", "[2001:db8::beef:7]:80",
            "198.51.100.1:22", "198.51.100.1:443", "198.51.100.1:8443", "[2001:db8:1::1]:53", "[2001:db8:1::1]:8080",
            "192.0.2.1:443",
        ];
        var traffic = new List<(Protocol, IPEndPoint)>();
        foreach (var protocol in new[] { Protocol.Tcp, Protocol.Udp })
            foreach (var destination in destinations)
                traffic.Add((protocol, IPEndPoint.Parse(destination)));
        return traffic;
    }
}
