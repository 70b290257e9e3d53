namespace SkLookup;

/// <summary>
/// What the dispatcher counted for one destination, summed over every CPU: a snapshot, read when the
/// status was. The program keeps these counters per CPU in its metrics map.
/// </summary>
/// <param name="Lookups">Packets that matched a binding of the destination.</param>
/// <param name="Misses">Of those, packets that found no socket registered.</param>
/// <param name="Errors">Of those, packets whose socket the kernel refused (<c>bpf_sk_assign</c> failed: wrong kind or state).</param>
public readonly record struct DestinationCounts(ulong Lookups, ulong Misses, ulong Errors);
