using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SkLookup;

/// <summary>
/// Traffic of <see cref="Protocol"/> to <see cref="Prefix"/> and <see cref="Port"/> (0 for any port)
/// goes to the destination labelled <see cref="Label"/>. Where bindings overlap, the longest prefix
/// wins, and on an equal prefix a specific port beats any port (tubular's rules).
/// </summary>
/// <param name="Label">The destination's label.</param>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="Prefix">An IPv4 or IPv6 network with no host bits set.</param>
/// <param name="Port">1 to 65535, or 0 for any port.</param>
public sealed record Binding(string Label, Protocol Protocol, IPNetwork Prefix, ushort Port)
{
    /// <summary>The prefix's family.</summary>
    public Family Family => Match.Family;

    /// <summary>The key that identifies the binding irrespective of its label.</summary>
    public BindingMatch Match => new(Protocol, Prefix, Port);

    /// <summary>Parses a binding from its four command-line words, validating each with a clear message.</summary>
    public static Binding Parse(string label, string protocol, string prefix, string port) =>
        new(SkLookup.Label.Validate(label), ProtocolNames.ParseProtocol(protocol), ParsePrefix(prefix), ParsePort(port));

    /// <summary>Creates a validated binding.</summary>
    public static Binding Create(string label, Protocol protocol, IPNetwork prefix, int port)
    {
        CheckPrefix(prefix, prefix.ToString());
        return new(SkLookup.Label.Validate(label), protocol, prefix, CheckPort(port, port.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Parses "192.0.2.0/24", "2001:db8::/64", or a bare address (meaning /32 or /128), in the canonical
    /// forms that <see cref="AddressText"/> describes; a prefix with host bits set is an error.
    /// </summary>
    public static IPNetwork ParsePrefix(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!AddressText.TryParsePrefix(text, out var address, out var length, out var reason))
            throw new SteeringException(SteeringError.InvalidPrefix,
                $"prefix '{TextEscape.Escape(text)}' is not valid: {reason}; use an address with an optional /length, e.g. 192.0.2.0/24 or 2001:db8::/64");
        var masked = Masked(address, length);
        var network = new IPNetwork(masked, length);
        if (!masked.Equals(address))
            throw new SteeringException(SteeringError.InvalidPrefix,
                $"prefix '{TextEscape.Escape(text)}' has host bits set: did you mean {network}?");
        CheckPrefix(network, text);
        return network;
    }

    /// <summary>Parses a port: 0 (any) to 65535, in decimal without leading zeros. "any" and "*" mean 0.</summary>
    public static ushort ParsePort(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text is "any" or "*")
            return 0;
        if (!AddressText.TryParseDecimal(text, int.MaxValue, out var port))
            throw new SteeringException(SteeringError.InvalidPort,
                $"port '{TextEscape.Escape(text)}' is not valid: use 1 to 65535 in decimal without leading zeros, or 0 (or any) for any port");
        return CheckPort(port, text);
    }

    private static ushort CheckPort(int port, string text) => port is >= 0 and <= 65535
        ? (ushort)port
        : throw new SteeringException(SteeringError.InvalidPort, $"port {text} is out of range: use 1 to 65535, or 0 for any port");

    private static void CheckPrefix(IPNetwork prefix, string text)
    {
        var address = prefix.BaseAddress;
        if (address.IsIPv4MappedToIPv6)
            throw new SteeringException(SteeringError.InvalidPrefix,
                $"prefix '{text}' is a v4-mapped IPv6 prefix: bind the IPv4 prefix instead (IPv4 packets never carry v4-mapped addresses)");
        if (!Masked(address, prefix.PrefixLength).Equals(address))
            throw new SteeringException(SteeringError.InvalidPrefix, $"prefix '{text}' has host bits set");
    }

    /// <summary>The address with every bit past <paramref name="length"/> cleared.</summary>
    internal static IPAddress Masked(IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = length; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Label} {Protocol.Name()} {Prefix} {(Port == 0 ? "any" : Port)}");
}
