using System.Net;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// The addresses and ports of the kernel's sk_lookup selftest (prog_tests/sk_lookup.c). Clients send to
/// the "external" pair; servers listen or receive at the "internal" one, and the programs steer between them.
/// </summary>
public static class SuiteAddresses
{
    /// <summary>EXT_IP4: where IPv4 clients send.</summary>
    public static readonly IPAddress ExternalIp4 = IPAddress.Parse("127.0.0.1");

    /// <summary>EXT_IP6: where IPv6 clients send.</summary>
    public static readonly IPAddress ExternalIp6 = IPAddress.Parse("fd00::1");

    /// <summary>EXT_PORT: the port clients send to.</summary>
    public const int ExternalPort = 7007;

    /// <summary>INT_IP4: where IPv4 servers listen.</summary>
    public static readonly IPAddress InternalIp4 = IPAddress.Parse("127.0.0.2");

    /// <summary>INT_IP4_V6: INT_IP4 as a v4-mapped IPv6 address, for a dual-stack server.</summary>
    public static readonly IPAddress InternalIp4MappedToIp6 = IPAddress.Parse("::ffff:127.0.0.2");

    /// <summary>INT_IP6: where IPv6 servers listen.</summary>
    public static readonly IPAddress InternalIp6 = IPAddress.Parse("fd00::2");

    /// <summary>INT_PORT: the port servers listen on when the port is what gets redirected.</summary>
    public const int InternalPort = 8008;

    /// <summary>The prefix that holds EXT_IP6 and INT_IP6, routed locally in each test namespace.</summary>
    public const string Ip6Prefix = "fd00::/64";

    /// <summary>Slot of "server A" in redir_map.</summary>
    public const uint ServerA = 0;

    /// <summary>Slot of "server B" in redir_map.</summary>
    public const uint ServerB = 1;

    /// <summary>run_map slot that the first of two programs marks.</summary>
    public const int Prog1 = 0;

    /// <summary>run_map slot that the second of two programs marks.</summary>
    public const int Prog2 = 1;

    /// <summary>The external endpoint of a family: (EXT_IP, EXT_PORT).</summary>
    public static IPEndPoint External(bool ipv6) => new(ipv6 ? ExternalIp6 : ExternalIp4, ExternalPort);
}
