using System.Net;
using System.Net.Sockets;

namespace SkLookup;

/// <summary>What a binding matches: protocol, prefix and port, without the label.</summary>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="Prefix">The network.</param>
/// <param name="Port">The port, or 0 for any.</param>
public readonly record struct BindingMatch(Protocol Protocol, IPNetwork Prefix, ushort Port)
{
    /// <summary>The prefix's family.</summary>
    public Family Family => Prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? Family.IPv4 : Family.IPv6;
}
