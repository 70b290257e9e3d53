using System.Globalization;
using System.Text;

namespace SkLookup.Cli.Metrics;

/// <summary>
/// Renders the dispatcher's counters in the Prometheus text exposition format (version 0.0.4): one
/// <c># HELP</c> and <c># TYPE</c> line per metric family, then one sample per destination.
/// </summary>
internal static class PrometheusText
{
    /// <summary>The Content-Type of the format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The metrics of a loaded dispatcher.</summary>
    public static string Render(IReadOnlyList<Binding> bindings, IReadOnlyList<DestinationStatus> destinations) =>
        Render([.. bindings.GroupBy(b => (b.Label, b.Family, b.Protocol)).Select(g => new BindingCount(g.Key.Label, g.Key.Family, g.Key.Protocol, g.Count()))], destinations);

    /// <summary>The metrics of a loaded dispatcher, from its binding counts (which a scrape reads without decoding a million bindings).</summary>
    public static string Render(IReadOnlyList<BindingCount> bindingCounts, IReadOnlyList<DestinationStatus> destinations)
    {
        var text = new StringBuilder();
        Loaded(text, 1);

        // Per destination (label, family, protocol), like the other families and the SkLookup meter's sklookup.bindings.
        Family(text, "sklookup_bindings", "gauge", "Bindings of the destination.");
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var binding in bindingCounts)
        {
            var key = $"label=\"{Escape(binding.Label)}\",family=\"{binding.Family.Name()}\",protocol=\"{binding.Protocol.Name()}\"";
            counts[key] = counts.TryGetValue(key, out var count) ? count + binding.Count : binding.Count;
        }
        foreach (var (labels, count) in counts)
            Sample(text, "sklookup_bindings", labels, (ulong)count);

        Counter(text, destinations, "sklookup_lookups_total", "Lookups that matched a binding of the destination.", d => d.Counters.Lookups);
        Counter(text, destinations, "sklookup_misses_total",
            "Lookups of the destination that found no socket registered (dropped, or passed on with fall-through).", d => d.Counters.Misses);
        Counter(text, destinations, "sklookup_errors_total",
            "Lookups of the destination whose socket the kernel refused (bpf_sk_assign failed).", d => d.Counters.Errors);

        Family(text, "sklookup_socket_registered", "gauge", "1 if the destination has a socket registered.");
        foreach (var destination in destinations)
            Sample(text, "sklookup_socket_registered", Labels(destination), destination.SocketCookie is null ? 0UL : 1UL);
        return text.ToString();
    }

    /// <summary>The metrics when no dispatcher is loaded: only the gauge that says so.</summary>
    public static string RenderNotLoaded()
    {
        var text = new StringBuilder();
        Loaded(text, 0);
        return text.ToString();
    }

    private static void Loaded(StringBuilder text, int loaded)
    {
        Family(text, "sklookup_dispatcher_loaded", "gauge", "1 if the dispatcher is loaded in the namespace.");
        text.Append("sklookup_dispatcher_loaded ").Append(loaded.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private static void Counter(StringBuilder text, IReadOnlyList<DestinationStatus> destinations, string name, string help, Func<DestinationStatus, ulong> value)
    {
        Family(text, name, "counter", help);
        foreach (var destination in destinations)
            Sample(text, name, Labels(destination), value(destination));
    }

    private static void Family(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, string labels, ulong value) =>
        text.Append(name).Append('{').Append(labels).Append("} ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private static string Labels(DestinationStatus destination) =>
        $"label=\"{Escape(destination.Label)}\",family=\"{destination.Family.Name()}\",protocol=\"{destination.Protocol.Name()}\"";

    /// <summary>Escapes a label value as the format requires: backslash, double quote and line feed.</summary>
    public static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);
}
