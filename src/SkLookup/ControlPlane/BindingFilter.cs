using System.Net;
using System.Net.Sockets;

namespace SkLookup;

/// <summary>
/// Which bindings a query wants; every condition that is set must hold, and an empty filter takes all.
/// <see cref="Dispatcher.SelectBindings"/> applies it to the maps' raw entries, building objects only for
/// the bindings it returns.
/// </summary>
public sealed record BindingFilter
{
    /// <summary>Every binding.</summary>
    public static readonly BindingFilter All = new();

    /// <summary>Only this label's bindings.</summary>
    public string? Label { get; init; }

    /// <summary>Only bindings of this protocol.</summary>
    public Protocol? Protocol { get; init; }

    /// <summary>Only bindings of this family.</summary>
    public Family? Family { get; init; }

    /// <summary>Only bindings whose prefix overlaps this one: inside it, or containing it.</summary>
    public IPNetwork? Prefix { get; init; }

    /// <summary>Only bindings that apply to this port: bound to it, or to any port. 0 keeps only the any-port bindings.</summary>
    public ushort? Port { get; init; }

    /// <summary>True if no condition is set.</summary>
    public bool IsEmpty => Label is null && Protocol is null && Family is null && Prefix is null && Port is null;

    /// <summary>True if <paramref name="binding"/> passes every condition.</summary>
    public bool Matches(Binding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (Label is not null && binding.Label != Label)
            return false;
        if (Protocol is { } protocol && binding.Protocol != protocol)
            return false;
        if (Family is { } family && binding.Family != family)
            return false;
        if (Port is { } port && binding.Port != 0 && binding.Port != port)
            return false;
        if (Port == 0 && binding.Port != 0)
            return false;
        return Prefix is not { } range || Overlap(range, binding.Prefix);
    }

    private static bool Overlap(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));

    /// <summary>The family of <see cref="Prefix"/>, if it is set.</summary>
    internal Family? PrefixFamily => Prefix is { } prefix
        ? prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? SkLookup.Family.IPv4 : SkLookup.Family.IPv6
        : null;
}
