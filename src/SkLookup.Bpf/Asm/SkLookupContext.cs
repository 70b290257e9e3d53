namespace SkLookup.Bpf.Asm;

/// <summary>
/// Offsets of the fields of <c>struct bpf_sk_lookup</c>, the sk_lookup program's read-only context.
/// Addresses are in network byte order; <see cref="LocalPort"/> is in host order and
/// <see cref="RemotePort"/> in network order (a <c>__be16</c> since Linux 5.18).
/// </summary>
public static class SkLookupContext
{
    /// <summary><c>sk</c>: the selected socket or NULL; only an 8-byte load is allowed.</summary>
    public const short Socket = 0;
    /// <summary><c>family</c>: AF_INET (2) or AF_INET6 (10); u32.</summary>
    public const short Family = 8;
    /// <summary><c>protocol</c>: IPPROTO_TCP (6) or IPPROTO_UDP (17); u32.</summary>
    public const short Protocol = 12;
    /// <summary><c>remote_ip4</c>: u32, network order.</summary>
    public const short RemoteIp4 = 16;
    /// <summary><c>remote_ip6[4]</c>: 16 bytes, network order.</summary>
    public const short RemoteIp6 = 20;
    /// <summary><c>remote_port</c>: 2 bytes, network order.</summary>
    public const short RemotePort = 36;
    /// <summary><c>local_ip4</c>: u32, network order.</summary>
    public const short LocalIp4 = 40;
    /// <summary><c>local_ip6[4]</c>: 16 bytes, network order.</summary>
    public const short LocalIp6 = 44;
    /// <summary><c>local_port</c>: u32, host order.</summary>
    public const short LocalPort = 60;
    /// <summary><c>ingress_ifindex</c>: u32 (Linux 5.17+).</summary>
    public const short IngressIfindex = 64;
    /// <summary>The size of the context since Linux 5.17.</summary>
    public const int Size = 72;

    /// <summary>Address families as the context carries them.</summary>
    public const int AfInet = 2, AfInet6 = 10;

    /// <summary>Protocols as the context carries them.</summary>
    public const int IpProtoTcp = 6, IpProtoUdp = 17;
}

/// <summary>The verdicts an sk_lookup program returns.</summary>
public enum SkAction
{
    /// <summary>SK_DROP: fail the lookup; TCP answers with RST, UDP with ICMP port unreachable.</summary>
    Drop = 0,
    /// <summary>SK_PASS: use the socket selected with bpf_sk_assign, or go on with the normal lookup.</summary>
    Pass = 1,
}

/// <summary>Flags of <c>bpf_sk_assign</c> for sk_lookup programs.</summary>
[Flags]
public enum SkAssignFlags
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_SK_LOOKUP_F_REPLACE: override a selection made earlier.</summary>
    Replace = 1,
    /// <summary>BPF_SK_LOOKUP_F_NO_REUSEPORT: do not let a reuseport group pick another member.</summary>
    NoReuseport = 2,
}
