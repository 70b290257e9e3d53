using System.Net;
using System.Net.Sockets;

namespace SkLookup;

/// <summary>
/// The precedence rules, in plain C#: the reference the generated dispatcher is tested against, and
/// what <c>explain</c> and <c>bindings</c> use to say which binding a packet matches.
/// </summary>
public static class BindingTable
{
    /// <summary>
    /// The binding that receives a packet of <paramref name="protocol"/> to <paramref name="destination"/>
    /// and <paramref name="port"/>: the longest matching prefix wins, and on an equal prefix a specific
    /// port beats any port. Null when none matches, and the normal lookup goes on.
    /// </summary>
    public static Binding? Lookup(IEnumerable<Binding> bindings, Protocol protocol, IPAddress destination, ushort port)
    {
        if (destination.IsIPv4MappedToIPv6)
            destination = destination.MapToIPv4();
        Binding? best = null;
        foreach (var binding in bindings)
        {
            if (binding.Protocol != protocol || (binding.Port != 0 && binding.Port != port))
                continue;
            if (binding.Prefix.BaseAddress.AddressFamily != destination.AddressFamily || !binding.Prefix.Contains(destination))
                continue;
            if (best is null || ComparePrecedence(binding, best) < 0)
                best = binding;
        }
        return best;
    }

    /// <summary>Sorts most specific first: longer prefixes, then specific ports before any port; then by protocol, address, port and label.</summary>
    public static List<Binding> Sort(IEnumerable<Binding> bindings) =>
        PrecedenceSort.Sort(bindings as IReadOnlyList<Binding> ?? bindings.ToList());

    /// <summary>Negative when <paramref name="a"/> takes precedence over <paramref name="b"/>.</summary>
    public static int ComparePrecedence(Binding a, Binding b)
    {
        var byLength = b.Prefix.PrefixLength.CompareTo(a.Prefix.PrefixLength);
        if (byLength != 0)
            return byLength;
        var bySpecificPort = (a.Port == 0).CompareTo(b.Port == 0);
        if (bySpecificPort != 0)
            return bySpecificPort;
        var byFamily = a.Family.CompareTo(b.Family);
        if (byFamily != 0)
            return byFamily;
        var byProtocol = a.Protocol.CompareTo(b.Protocol);
        if (byProtocol != 0)
            return byProtocol;
        var byAddress = CompareAddresses(a.Prefix.BaseAddress, b.Prefix.BaseAddress);
        if (byAddress != 0)
            return byAddress;
        var byPort = a.Port.CompareTo(b.Port);
        return byPort != 0 ? byPort : string.CompareOrdinal(a.Label, b.Label);
    }

    /// <summary>Orders addresses by their bytes, most significant first (an IPv4 address before an IPv6 one of the same prefix bytes).</summary>
    internal static int CompareAddresses(IPAddress a, IPAddress b)
    {
        Span<byte> x = stackalloc byte[16];
        Span<byte> y = stackalloc byte[16];
        a.TryWriteBytes(x, out var xLength);
        b.TryWriteBytes(y, out var yLength);
        return x[..xLength].SequenceCompareTo(y[..yLength]);
    }

    /// <summary>True if <paramref name="address"/> is of the family of <paramref name="family"/>.</summary>
    public static bool IsFamily(IPAddress address, Family family) =>
        address.AddressFamily == (family == Family.IPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6);
}
