using System.Net;

namespace SkLookup.Benchmarks;

/// <summary>
/// The addresses and ports every benchmark uses: documentation ranges only, configured on the veth
/// pair between the benchmark's own two namespaces, never in the machine's own.
/// </summary>
internal static class BenchmarkAddresses
{
    /// <summary>The receiver's veth address, the flood's single destination (IPv4).</summary>
    public static readonly IPAddress ReceiverV4 = IPAddress.Parse("192.0.2.1");

    /// <summary>The flood source's veth address, its single source (IPv4).</summary>
    public static readonly IPAddress SenderV4 = IPAddress.Parse("192.0.2.2");

    /// <summary>The receiver's veth address (IPv6).</summary>
    public static readonly IPAddress ReceiverV6 = IPAddress.Parse("2001:db8::1");

    /// <summary>The flood source's veth address (IPv6).</summary>
    public static readonly IPAddress SenderV6 = IPAddress.Parse("2001:db8::2");

    /// <summary>The prefix length of both veth addresses in each family.</summary>
    public const int PrefixLengthV4 = 24, PrefixLengthV6 = 64;

    /// <summary>The single destination port of the flood, and the port the steering programs bind.</summary>
    public const int ServicePort = 80;

    /// <summary>A port on the same address that no binding covers: lookups for it miss.</summary>
    public const int UnboundPort = 81;

    /// <summary>The flood's source ports are <see cref="FirstSourcePort"/> and the next <see cref="SourcePortCount"/> - 1.</summary>
    public const int FirstSourcePort = 20000, SourcePortCount = 10000;

    /// <summary>The receiver's address for <paramref name="shape"/>'s family.</summary>
    public static IPAddress Receiver(LookupShape shape) => shape.IsIPv6 ? ReceiverV6 : ReceiverV4;

    /// <summary>The source's address for <paramref name="shape"/>'s family.</summary>
    public static IPAddress Sender(LookupShape shape) => shape.IsIPv6 ? SenderV6 : SenderV4;
}
