using System.Globalization;
using System.Text.Json.Nodes;

namespace SkLookup.Cli;

/// <summary>The JSON and text forms of the steering layer's records, the same in every command.</summary>
internal static class JsonViews
{
    /// <summary>A binding: label, protocol, prefix, and port (0 for any).</summary>
    public static JsonObject Binding(Binding binding) => new()
    {
        ["label"] = binding.Label,
        ["protocol"] = binding.Protocol.Name(),
        ["prefix"] = binding.Prefix.ToString(),
        ["port"] = binding.Port,
    };

    /// <summary>An array of bindings.</summary>
    public static JsonArray Bindings(IEnumerable<Binding> bindings) => JsonArrays.From(bindings, b => Binding(b));

    /// <summary>A destination with its socket, counters and fall-through flag.</summary>
    public static JsonObject Destination(DestinationStatus destination) => new()
    {
        ["label"] = destination.Label,
        ["family"] = destination.Family.Name(),
        ["protocol"] = destination.Protocol.Name(),
        ["id"] = destination.Id,
        ["socketCookie"] = destination.SocketCookie,
        ["fallThrough"] = destination.FallThrough,
        ["lookups"] = destination.Counters.Lookups,
        ["misses"] = destination.Counters.Misses,
        ["errors"] = destination.Counters.Errors,
    };

    /// <summary>"80", or "any" for port 0.</summary>
    public static string Port(ushort port) => port == 0 ? "any" : port.ToString(CultureInfo.InvariantCulture);

    /// <summary>A table of bindings: label, protocol, prefix, port.</summary>
    public static TextTable BindingTable(IEnumerable<Binding> bindings)
    {
        var table = new TextTable("label", "protocol", "prefix", "port");
        foreach (var binding in bindings)
            table.Add(binding.Label, binding.Protocol.Name(), binding.Prefix.ToString(), Port(binding.Port));
        return table;
    }

    /// <summary>A number as text, culture-free.</summary>
    public static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);
}
