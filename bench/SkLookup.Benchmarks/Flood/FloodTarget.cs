using System.Net;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// Where a flood goes: its shape (protocol and family), its one destination address, and the destination
/// ports it cycles through; and whether the receiving socket must be transparent (IP_TRANSPARENT), as
/// TPROXY wants. The receiving socket is always bound to the receiver's own address and the service port.
/// </summary>
/// <param name="Name">The flood's name for logs and tables.</param>
/// <param name="Shape">Protocol and family.</param>
/// <param name="Destination">The one destination address.</param>
/// <param name="FirstDestinationPort">The first destination port.</param>
/// <param name="DestinationPortCount">How many consecutive destination ports the frames cycle through.</param>
/// <param name="TransparentSocket">True to set IP_TRANSPARENT on the receiving socket.</param>
internal sealed record FloodTarget(string Name, LookupShape Shape, IPAddress Destination, int FirstDestinationPort, int DestinationPortCount, bool TransparentSocket)
{
    /// <summary>The address that "any port to one socket" steers (IPv4 only): not configured on any interface.</summary>
    public static readonly IPAddress AnyPortAddress = IPAddress.Parse("198.51.100.1");

    /// <summary>The destination ports of the any-port floods: <see cref="AnyPortFirst"/> and the next <see cref="AnyPortCount"/> - 1.</summary>
    public const int AnyPortFirst = 1024, AnyPortCount = 4096;

    /// <summary>The series' flood: the receiver's address and the service port, one listening or bound socket there.</summary>
    public static FloodTarget Service(LookupShape shape) =>
        new(shape.Name, shape, BenchmarkAddresses.Receiver(shape), BenchmarkAddresses.ServicePort, 1, TransparentSocket: false);

    /// <summary>
    /// "Any port to one socket": <see cref="AnyPortAddress"/> on <see cref="AnyPortCount"/> ports, all of which
    /// must reach the one socket on the receiver's address and the service port.
    /// </summary>
    public static FloodTarget AnyPort(LookupShape shape) => shape.IsIPv6
        ? throw new ArgumentException("the any-port flood is IPv4 only", nameof(shape))
        : new($"{shape.Name} any port", shape, AnyPortAddress, AnyPortFirst, AnyPortCount, TransparentSocket: true);

    /// <summary>The destination port of frame <paramref name="index"/>.</summary>
    public ushort DestinationPort(int index) => (ushort)(FirstDestinationPort + index % DestinationPortCount);

    /// <inheritdoc />
    public override string ToString() => Name;
}
