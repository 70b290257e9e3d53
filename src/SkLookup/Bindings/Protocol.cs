namespace SkLookup;

/// <summary>The transport protocols sk_lookup runs for, numbered as IANA (and the kernel) number them.</summary>
public enum Protocol : byte
{
    /// <summary>TCP (6).</summary>
    Tcp = 6,
    /// <summary>UDP (17).</summary>
    Udp = 17,
}

/// <summary>Address families, numbered as the kernel numbers them.</summary>
public enum Family : byte
{
    /// <summary>AF_INET (2).</summary>
    IPv4 = 2,
    /// <summary>AF_INET6 (10).</summary>
    IPv6 = 10,
}

/// <summary>Parsing and printing of <see cref="Protocol"/> and <see cref="Family"/> as users write them.</summary>
public static class ProtocolNames
{
    /// <summary>"tcp" or "udp".</summary>
    public static string Name(this Protocol protocol) => protocol == Protocol.Tcp ? "tcp" : "udp";

    /// <summary>"ipv4" or "ipv6".</summary>
    public static string Name(this Family family) => family == Family.IPv4 ? "ipv4" : "ipv6";

    /// <summary>Parses "tcp" or "udp" (any case).</summary>
    public static Protocol ParseProtocol(string text) => text.ToLowerInvariant() switch
    {
        "tcp" => Protocol.Tcp,
        "udp" => Protocol.Udp,
        _ => throw new SteeringException(SteeringError.InvalidProtocol, $"protocol '{TextEscape.Escape(text)}' is not valid: use tcp or udp"),
    };

    /// <summary>Parses "ipv4" or "ipv6" (also "4", "6", "inet", "inet6").</summary>
    public static Family ParseFamily(string text) => text.ToLowerInvariant() switch
    {
        "ipv4" or "4" or "inet" or "v4" => Family.IPv4,
        "ipv6" or "6" or "inet6" or "v6" => Family.IPv6,
        _ => throw new SteeringException(SteeringError.InvalidFamily, $"family '{TextEscape.Escape(text)}' is not valid: use ipv4 or ipv6"),
    };
}
