namespace SkLookup;

/// <summary>One destination of a dispatcher: a label for one family and protocol, its socket, and its counters.</summary>
/// <param name="Label">The label.</param>
/// <param name="Family">IPv4 or IPv6.</param>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="Id">The destination id: the key of its socket, counters and options in the maps.</param>
/// <param name="SocketCookie">The cookie of the registered socket, or null if none is registered (its traffic is dropped, or falls through).</param>
/// <param name="Counters">Lookups that matched its bindings, misses (no socket), and errors (the kernel refused the socket), summed over CPUs.</param>
/// <param name="FallThrough">True if, without a socket, its traffic goes on to the normal socket lookup instead of being dropped.</param>
public sealed record DestinationStatus(string Label, Family Family, Protocol Protocol, uint Id, ulong? SocketCookie, DestinationCounts Counters, bool FallThrough)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Label} {Family.Name()} {Protocol.Name()} id {Id}: socket {(SocketCookie is { } cookie ? $"cookie {cookie}" : "none")}, " +
        $"lookups {Counters.Lookups}, misses {Counters.Misses}, errors {Counters.Errors}{(FallThrough ? ", fall-through" : "")}";
}
