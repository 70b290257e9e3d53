namespace SkLookup.Benchmarks.Dispatching;

/// <summary>
/// What the bindings of a benchmark look like: all host prefixes (/32, /128) or a mix of prefix lengths,
/// and whether some of them are for any port. Each mix gives a different set of probes to the dispatcher.
/// </summary>
/// <param name="Name">A short name for tables: "host", "host+any", "mixed", "mixed+any".</param>
/// <param name="MixedPrefixes">False: every binding is a host prefix. True: lengths cycle through <see cref="PrefixLengths"/>.</param>
/// <param name="AnyPort">True: every fourth filler binding is for any port (port 0).</param>
internal sealed record BindingMix(string Name, bool MixedPrefixes, bool AnyPort)
{
    /// <summary>The four mixes, simplest first.</summary>
    public static readonly IReadOnlyList<BindingMix> All =
    [
        new("host", MixedPrefixes: false, AnyPort: false),
        new("host+any", MixedPrefixes: false, AnyPort: true),
        new("mixed", MixedPrefixes: true, AnyPort: false),
        new("mixed+any", MixedPrefixes: true, AnyPort: true),
    ];

    /// <summary>The host-only mix without any-port bindings.</summary>
    public static BindingMix Host => All[0];

    /// <summary>The prefix lengths of a family in this mix, longest first; the last is the one the hit binding uses.</summary>
    public IReadOnlyList<int> PrefixLengths(bool ipv6) => (MixedPrefixes, ipv6) switch
    {
        (false, false) => [32],
        (false, true) => [128],
        (true, false) => [32, 28, 24, 20, 16],
        (true, true) => [128, 64, 56, 48, 32],
    };

    /// <summary>One phrase for BENCHMARKS.md.</summary>
    public string Describe(bool ipv6) =>
        (MixedPrefixes ? $"prefix lengths cycling through /{string.Join(", /", PrefixLengths(ipv6))}" : $"host prefixes (/{PrefixLengths(ipv6)[0]})") +
        (AnyPort ? ", every fourth filler binding for any port" : ", every binding for one port");
}
