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
        // The checks name the prefix only when they fail: formatting it for each of a million bindings costs more than checking it.
        CheckPrefix(prefix, null);
        return new(SkLookup.Label.Validate(label), protocol, prefix, CheckPort(port, null));
    }

    /// <summary>
    /// <see cref="Create"/> for a label that <see cref="SkLookup.Label.Validate"/> has passed already: a bindings file
    /// checks each distinct label once, where checking it again for each of a million entries took a tenth of a second.
    /// </summary>
    internal static Binding CreateWithCheckedLabel(string label, Protocol protocol, IPNetwork prefix, int port)
    {
        CheckPrefix(prefix, null);
        return new(label, protocol, prefix, CheckPort(port, null));
    }

    /// <summary>
    /// Parses "192.0.2.0/24", "2001:db8::/64", or a bare address (meaning /32 or /128), in the canonical
    /// forms that <see cref="AddressText"/> describes; a prefix with host bits set is an error.
    /// </summary>
    public static IPNetwork ParsePrefix(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ParsePrefix(text.AsSpan());
    }

    /// <summary>Parses a prefix as <see cref="ParsePrefix(string)"/> does, from characters that need not be a string (a file's parser reads a million of them).</summary>
    public static IPNetwork ParsePrefix(ReadOnlySpan<char> text)
    {
        if (!AddressText.TryParsePrefix(text, out var address, out var length, out var reason))
            throw new SteeringException(SteeringError.InvalidPrefix,
                $"prefix '{TextEscape.Escape(text.ToString())}' is not valid: {reason}; use an address with an optional /length, e.g. 192.0.2.0/24 or 2001:db8::/64");
        // Checked without allocating: the masked address is made only for the message.
        if (HasHostBits(address, length))
            throw new SteeringException(SteeringError.InvalidPrefix,
                $"prefix '{TextEscape.Escape(text.ToString())}' has host bits set: did you mean {new IPNetwork(Masked(address, length), length)}?");
        var network = new IPNetwork(address, length);
        CheckPrefix(network, null);
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

    private static ushort CheckPort(int port, string? text) => port is >= 0 and <= 65535
        ? (ushort)port
        : throw new SteeringException(SteeringError.InvalidPort,
            $"port {text ?? port.ToString(CultureInfo.InvariantCulture)} is out of range: use 1 to 65535, or 0 for any port");

    private static void CheckPrefix(IPNetwork prefix, string? written)
    {
        var address = prefix.BaseAddress;
        var text = written ?? (address.IsIPv4MappedToIPv6 || HasHostBits(address, prefix.PrefixLength) ? prefix.ToString() : "");
        if (address.IsIPv4MappedToIPv6)
            throw new SteeringException(SteeringError.InvalidPrefix,
                $"prefix '{text}' is a v4-mapped IPv6 prefix: bind the IPv4 prefix instead (IPv4 packets never carry v4-mapped addresses)");
        if (HasHostBits(address, prefix.PrefixLength))
            throw new SteeringException(SteeringError.InvalidPrefix, $"prefix '{text}' has host bits set");
    }

    /// <summary>True if <paramref name="address"/> has a bit set past <paramref name="length"/>; allocates nothing, as it runs for every binding of a file.</summary>
    internal static bool HasHostBits(IPAddress address, int length)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        bytes = bytes[..written];
        if (length >= written * 8)
            return false;
        if (length % 8 != 0 && (bytes[length / 8] & (0xff >> (length % 8))) != 0)
            return true;
        return bytes[((length + 7) / 8)..].IndexOfAnyExcept((byte)0) >= 0;
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
