namespace SkLookup.Benchmarks.Dispatching;

/// <summary>
/// What the bindings of a benchmark look like: all host prefixes (/32, /128) or a mix of prefix lengths,
/// and whether some of them are for any port. Each mix gives a different set of probes to the dispatcher.
/// </summary>
/// <param name="Name">A short name for tables: "host", "host+any", "mixed", "mixed+any".</param>
/// <param name="MixedPrefixes">False: every binding is a host prefix. True: lengths cycle through <see cref="PrefixLengths"/>.</param>
/// <param name="AnyPort">True: every fourth filler binding is for any port (port 0).</param>
/// <param name="EveryLength">True: the hardest mix, every prefix length (33 for IPv4, 129 for IPv6), so that a probe-per-length dispatcher runs the most probes.</param>
internal sealed record BindingMix(string Name, bool MixedPrefixes, bool AnyPort, bool EveryLength = false)
{
    /// <summary>The four mixes, simplest first.</summary>
    public static readonly IReadOnlyList<BindingMix> All =
    [
        new("host", MixedPrefixes: false, AnyPort: false),
        new("host+any", MixedPrefixes: false, AnyPort: true),
        new("mixed", MixedPrefixes: true, AnyPort: false),
        new("mixed+any", MixedPrefixes: true, AnyPort: true),
        new("every length", MixedPrefixes: true, AnyPort: false, EveryLength: true),
        new("every length+any", MixedPrefixes: true, AnyPort: true, EveryLength: true),
    ];

    /// <summary>The mixed mix with any-port bindings, which the control-plane benchmark applies.</summary>
    public static BindingMix MixedAny => All[3];

    /// <summary>The host-only mix without any-port bindings.</summary>
    public static BindingMix Host => All[0];

    /// <summary>The prefix lengths of a family in this mix, longest first; the last is the one the hit binding uses.</summary>
    public IReadOnlyList<int> PrefixLengths(bool ipv6) => EveryLength
        ? Enumerable.Range(0, ipv6 ? 129 : 33).Reverse().ToList()
        : (MixedPrefixes, ipv6) switch
    {
        (false, false) => [32],
        (false, true) => [128],
        (true, false) => [32, 28, 24, 20, 16],
        (true, true) => [128, 64, 56, 48, 32],
    };

    /// <summary>
    /// The steered binding's length: the mix's shortest, except in the every-length mixes, where /0 would cover the
    /// miss lookups; there it is /8 (IPv4) or /16 (IPv6), so that most lengths are longer and are probed first.
    /// </summary>
    public int SteeredLength(bool ipv6) => EveryLength ? (ipv6 ? 16 : 8) : PrefixLengths(ipv6)[^1];

    /// <summary>
    /// Whether a filler of this length may be for any port: not shorter than /8 in the every-length mixes, where a
    /// shorter any-port filler (0.0.0.0/0 above all) would cover the miss lookups.
    /// </summary>
    public bool AllowsAnyPort(int length) => AnyPort && (!EveryLength || length >= 8);

    /// <summary>One phrase for BENCHMARKS.md.</summary>
    public string Describe(bool ipv6) => EveryLength
        ? $"every prefix length /{(ipv6 ? 128 : 32)} to /0, the steered binding at /{SteeredLength(ipv6)}" +
          (AnyPort ? ", every fourth filler of /8 or longer for any port" : ", every binding for one port")
        : (MixedPrefixes ? $"prefix lengths cycling through /{string.Join(", /", PrefixLengths(ipv6))}" : $"host prefixes (/{PrefixLengths(ipv6)[0]})") +
        (AnyPort ? ", every fourth filler binding for any port" : ", every binding for one port");
}
