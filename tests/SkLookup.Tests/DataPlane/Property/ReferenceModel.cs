using System.Net;
using SkLookup.Bpf.Asm;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>One socket lookup: the packet's protocol, destination address and port.</summary>
internal readonly record struct Lookup(Protocol Protocol, IPAddress Address, ushort Port)
{
    public override string ToString() => $"{Protocol.Name()} [{Address}]:{Port}";
}

/// <summary>What the dispatcher does with a lookup: its verdict, and the cookie of the socket it selects (0 for none).</summary>
internal readonly record struct Outcome(SkAction Verdict, ulong Cookie)
{
    public override string ToString() => Verdict == SkAction.Drop ? "drop" : Cookie == 0 ? "pass (no socket selected)" : $"pass to socket {Cookie}";
}

/// <summary>
/// The precedence rules in plain C#, the oracle of the property tests. Deliberately naive (a linear scan),
/// so that it can be read at a glance and checked against the README, not against the generator.
/// </summary>
internal static class ReferenceModel
{
    /// <param name="bindings">The bindings.</param>
    /// <param name="lookup">The packet. Its family is the lookup's: an IPv4-mapped IPv6 destination is an IPv6 lookup.</param>
    /// <param name="socketOf">The cookie of the socket registered for a binding's destination (label, family, protocol), or null.</param>
    /// <param name="fallsThrough">Whether a label without a socket lets its traffic fall through.</param>
    public static Outcome Expect(IEnumerable<Binding> bindings, Lookup lookup, Func<Binding, ulong?> socketOf, Func<string, bool> fallsThrough)
    {
        Binding? best = null;
        foreach (var binding in bindings)
        {
            if (binding.Protocol != lookup.Protocol || binding.Prefix.BaseAddress.AddressFamily != lookup.Address.AddressFamily)
                continue;
            if (!Holds(binding.Prefix, lookup.Address) || (binding.Port != 0 && binding.Port != lookup.Port))
                continue;
            // The longest prefix wins; on an equal prefix, a specific port beats any port.
            if (best is null || (binding.Prefix.PrefixLength, binding.Port != 0).CompareTo((best.Prefix.PrefixLength, best.Port != 0)) > 0)
                best = binding;
        }
        if (best is null)
            return new(SkAction.Pass, 0);                 // No match: the normal lookup goes on.
        if (socketOf(best) is { } cookie)
            return new(SkAction.Pass, cookie);            // The label's socket receives the packet.
        return fallsThrough(best.Label) ? new(SkAction.Pass, 0) : new(SkAction.Drop, 0);
    }

    /// <summary>
    /// Whether the address lies in the prefix, by arithmetic. Not <see cref="IPNetwork.Contains"/>: in .NET 10 it says
    /// that every IPv6 network holds every IPv4-mapped address (2001:db8::/98 holds ::ffff:1.2.3.4).
    /// </summary>
    public static bool Holds(IPNetwork prefix, IPAddress address)
    {
        var (first, last) = AddressMath.Range(prefix);
        var number = AddressMath.ToNumber(address);
        return first <= number && number <= last;
    }
}
