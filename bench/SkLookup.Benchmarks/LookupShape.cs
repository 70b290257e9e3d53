using System.Net.Sockets;

namespace SkLookup.Benchmarks;

/// <summary>What a socket lookup is for: a transport protocol and an address family (tcp4, tcp6, udp4, udp6).</summary>
internal sealed record LookupShape(ProtocolType Protocol, AddressFamily Family)
{
    /// <summary>The four shapes sk_lookup serves, in the order of the series' tables.</summary>
    public static readonly IReadOnlyList<LookupShape> All =
    [
        new(ProtocolType.Tcp, AddressFamily.InterNetwork),
        new(ProtocolType.Tcp, AddressFamily.InterNetworkV6),
        new(ProtocolType.Udp, AddressFamily.InterNetwork),
        new(ProtocolType.Udp, AddressFamily.InterNetworkV6),
    ];

    /// <summary>True for IPv6.</summary>
    public bool IsIPv6 => Family == AddressFamily.InterNetworkV6;

    /// <summary>True for TCP.</summary>
    public bool IsTcp => Protocol == ProtocolType.Tcp;

    /// <summary>"tcp4", "tcp6", "udp4" or "udp6".</summary>
    public string Name => (IsTcp ? "tcp" : "udp") + (IsIPv6 ? "6" : "4");

    /// <summary>Finds a shape by its <see cref="Name"/>.</summary>
    public static LookupShape Parse(string name)
    {
        foreach (var shape in All)
            if (shape.Name == name)
                return shape;
        throw new ArgumentException($"unknown shape '{name}': use tcp4, tcp6, udp4 or udp6");
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
