using System.Runtime.InteropServices;

namespace SkLookup.DataPlane;

/// <summary>The per-CPU counters of one destination, as the dispatcher program updates them.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DestinationCounters
{
    /// <summary>The size of one CPU's counters in the metrics map.</summary>
    public const int Size = 24;

    /// <summary>Byte offsets the program increments.</summary>
    internal const short LookupsOffset = 0, MissesOffset = 8, ErrorsOffset = 16;

    /// <summary>Packets that matched a binding of the destination.</summary>
    public ulong Lookups;

    /// <summary>Of those, packets that found no socket registered.</summary>
    public ulong Misses;

    /// <summary>Of those, packets whose socket the kernel refused (<c>bpf_sk_assign</c> failed: wrong kind or state).</summary>
    public ulong Errors;
}
