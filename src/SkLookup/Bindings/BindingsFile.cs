using System.Globalization;
using System.Net;
using System.Text.Json;

namespace SkLookup;

/// <summary>
/// Reads the set of bindings that <see cref="Dispatcher.ReplaceBindings"/> applies, from JSON.
/// </summary>
/// <remarks>
/// <para>The format is a superset of tubular's <c>load-bindings</c> file:</para>
/// <code>
/// {
///   "bindings": [
///     { "label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80 },
///     { "label": "dns", "protocol": "udp", "prefix": "2001:db8::53", "port": "53" },
///     { "label": "foo", "prefix": "198.51.100.0/24" }
///   ],
///   "labels": { "web": { "fallThrough": true } }
/// }
/// </code>
/// <list type="bullet">
/// <item><c>label</c> and <c>prefix</c> are required. A prefix without a length is a single address.</item>
/// <item><c>protocol</c> is "tcp" or "udp". Without it the entry binds both, as tubular's entries do, and
/// (also as in tubular) host bits in its prefix are cleared; an entry with a protocol must not have any.</item>
/// <item><c>port</c> is a number from 0 to 65535 or a string ("80", "any", "*"); without it, or with 0, the
/// binding takes every port.</item>
/// <item><c>labels</c> is optional: per label, <c>fallThrough</c> (default false) passes the label's traffic on
/// to the normal socket lookup while it has no socket, instead of dropping it.</item>
/// <item>Unknown fields are errors, as in tubular, so a typo never goes unnoticed. Comments and trailing
/// commas are allowed.</item>
/// </list>
/// Every error is a <see cref="SteeringException"/> with <see cref="SteeringError.InvalidFile"/> that names
/// the entry, e.g. "bindings[3]: port 70000 is out of range: ...".
/// </remarks>
public static class BindingsFile
{
    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>Parses the bindings of a file (see the remarks for the format).</summary>
    public static IReadOnlyList<Binding> Parse(string text) => ParseDocument(text).Bindings;

    /// <summary>Parses a whole file: bindings and label options.</summary>
    public static BindingsDocument ParseDocument(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, Options);
        }
        catch (JsonException exception)
        {
            throw Invalid($"the bindings file is not valid JSON (line {exception.LineNumber + 1}, byte {exception.BytePositionInLine + 1}): {FirstSentence(exception.Message)}", exception);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Invalid("the bindings file must be a JSON object with a \"bindings\" array");
            JsonElement? bindingsElement = null;
            JsonElement? labelsElement = null;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "bindings": bindingsElement = property.Value; break;
                    case "labels": labelsElement = property.Value; break;
                    default: throw Invalid($"unknown field \"{property.Name}\" at the top level: expected \"bindings\" and, optionally, \"labels\"");
                }
            }
            if (bindingsElement is not { ValueKind: JsonValueKind.Array } entries)
                throw Invalid("the bindings file needs a \"bindings\" array");
            var bindings = new List<Binding>(entries.GetArrayLength() * 2);
            var owners = new Dictionary<BindingMatch, (int Index, string Label)>();
            var index = 0;
            foreach (var entry in entries.EnumerateArray())
            {
                foreach (var binding in ParseEntry(entry, index))
                {
                    if (owners.TryGetValue(binding.Match, out var owner) && owner.Label != binding.Label)
                        throw Invalid($"bindings[{index}] binds {binding.Protocol.Name()} {binding.Prefix} port {PortText(binding.Port)} to '{binding.Label}', but bindings[{owner.Index}] binds it to '{owner.Label}': keep one of them");
                    owners[binding.Match] = (index, binding.Label);
                    bindings.Add(binding);
                }
                index++;
            }
            return new BindingsDocument(bindings, labelsElement is { } labels ? ParseLabels(labels) : new Dictionary<string, LabelOptions>());
        }
    }

    private static IEnumerable<Binding> ParseEntry(JsonElement entry, int index)
    {
        var where = $"bindings[{index}]";
        if (entry.ValueKind != JsonValueKind.Object)
            throw Invalid($"{where}: an entry must be an object with \"label\", \"prefix\" and optionally \"protocol\" and \"port\"");
        string? label = null, prefix = null, protocol = null, port = null;
        foreach (var property in entry.EnumerateObject())
        {
            switch (property.Name)
            {
                case "label": label = String(property, where); break;
                case "prefix": prefix = String(property, where); break;
                case "protocol": protocol = String(property, where); break;
                case "port":
                    port = property.Value.ValueKind switch
                    {
                        JsonValueKind.Number when property.Value.TryGetInt32(out var number) => number.ToString(CultureInfo.InvariantCulture),
                        JsonValueKind.Number => property.Value.GetRawText(),
                        JsonValueKind.String => property.Value.GetString(),
                        _ => throw Invalid($"{where}: \"port\" must be a number or a string such as \"any\""),
                    };
                    break;
                default:
                    throw Invalid($"{where}: unknown field \"{property.Name}\": expected label, prefix, protocol and port");
            }
        }
        if (label is null)
            throw Invalid($"{where}: \"label\" is missing");
        if (prefix is null)
            throw Invalid($"{where}: \"prefix\" is missing");
        try
        {
            if (protocol is not null)
                return [Binding.Parse(label, protocol, prefix, port ?? "0")];
            // A tubular entry: both protocols, and host bits cleared as tubular clears them.
            var network = ParseMaskedPrefix(prefix);
            var portNumber = Binding.ParsePort(port ?? "0");
            return [Binding.Create(label, Protocol.Tcp, network, portNumber), Binding.Create(label, Protocol.Udp, network, portNumber)];
        }
        catch (SteeringException exception)
        {
            throw Invalid($"{where}: {exception.Message}", exception);
        }
    }

    private static IPNetwork ParseMaskedPrefix(string text)
    {
        var slash = text.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out var address) ||
            !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var length) ||
            length > (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
            return Binding.ParsePrefix(text); // A bare address, or an error worded by the strict parser.
        return Binding.ParsePrefix($"{Binding.Masked(address, length)}/{length}");
    }

    private static Dictionary<string, LabelOptions> ParseLabels(JsonElement labels)
    {
        if (labels.ValueKind != JsonValueKind.Object)
            throw Invalid("\"labels\" must be an object: { \"LABEL\": { \"fallThrough\": true } }");
        var result = new Dictionary<string, LabelOptions>(StringComparer.Ordinal);
        foreach (var label in labels.EnumerateObject())
        {
            var where = $"labels[\"{label.Name}\"]";
            try
            {
                Label.Validate(label.Name);
            }
            catch (SteeringException exception)
            {
                throw Invalid($"{where}: {exception.Message}", exception);
            }
            if (label.Value.ValueKind != JsonValueKind.Object)
                throw Invalid($"{where}: options must be an object, e.g. {{ \"fallThrough\": true }}");
            var fallThrough = false;
            foreach (var option in label.Value.EnumerateObject())
            {
                if (option.Name != "fallThrough")
                    throw Invalid($"{where}: unknown option \"{option.Name}\": the only option is \"fallThrough\"");
                if (option.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw Invalid($"{where}: \"fallThrough\" must be true or false");
                fallThrough = option.Value.GetBoolean();
            }
            result[label.Name] = new LabelOptions(fallThrough);
        }
        return result;
    }

    private static string String(JsonProperty property, string where) => property.Value.ValueKind == JsonValueKind.String
        ? property.Value.GetString()!
        : throw Invalid($"{where}: \"{property.Name}\" must be a string");

    private static string PortText(ushort port) => port == 0 ? "any" : port.ToString(CultureInfo.InvariantCulture);

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message.TrimEnd('.') : message[..end];
    }

    private static SteeringException Invalid(string message, Exception? inner = null) => new(SteeringError.InvalidFile, message, inner);
}
