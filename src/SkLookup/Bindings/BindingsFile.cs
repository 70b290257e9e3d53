using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

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
/// <item><c>protocol</c> is "tcp" or "udp". Without it the entry binds both, as tubular's entries do.</item>
/// <item>Addresses are in canonical form only (see <see cref="AddressText"/>), and a prefix must not have host
/// bits set, with or without a protocol: "2001:db8::1/64" is an error that names the entry and suggests
/// "2001:db8::/64" (tubular clears such bits silently, which turns a typo into a wider binding).</item>
/// <item><c>port</c> is a number from 0 to 65535 (an integer, without sign, fraction or exponent) or a string
/// ("80", "any", "*"); without it, or with 0, the binding takes every port.</item>
/// <item><c>labels</c> is optional: per label, <c>fallThrough</c> (default false) passes the label's traffic on
/// to the normal socket lookup while it has no socket, instead of dropping it.</item>
/// <item>The file is strict JSON (RFC 8259) in UTF-8: comments, trailing commas, invalid UTF-8 and a field
/// given twice in one object are errors. Unknown fields are errors, as in tubular, so a typo never goes
/// unnoticed.</item>
/// </list>
/// Every error is a <see cref="SteeringException"/> with <see cref="SteeringError.InvalidFile"/> that names
/// the entry, e.g. "bindings[3]: port 70000 is out of range: ...".
/// </remarks>
public static class BindingsFile
{
    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false };

    /// <summary>Parses the bindings of a file (see the remarks for the format).</summary>
    public static IReadOnlyList<Binding> Parse(string text) => ParseDocument(text).Bindings;

    /// <summary>Parses a whole file: bindings and label options.</summary>
    public static BindingsDocument ParseDocument(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ParseDocument(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Parses a whole file from its bytes, which must be valid UTF-8 (a leading byte order mark is skipped).</summary>
    public static BindingsDocument ParseDocument(ReadOnlyMemory<byte> utf8)
    {
        var bytes = utf8.Span;
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8 = utf8[3..];
            bytes = utf8.Span;
        }
        if (!Utf8.IsValid(bytes))
            throw Invalid($"the bindings file is not valid UTF-8 (at byte {InvalidUtf8At(bytes) + 1}): save it as UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, Options);
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
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Invalid($"field \"{Escape(property.Name)}\" appears twice at the top level: keep one");
                switch (property.Name)
                {
                    case "bindings": bindingsElement = property.Value; break;
                    case "labels": labelsElement = property.Value; break;
                    default: throw Invalid($"unknown field \"{Escape(property.Name)}\" at the top level: expected \"bindings\" and, optionally, \"labels\"");
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
        var seen = 0;
        foreach (var property in entry.EnumerateObject())
        {
            var bit = property.Name switch { "label" => 1, "prefix" => 2, "protocol" => 4, "port" => 8, _ => 0 };
            if ((seen & bit) != 0)
                throw Invalid($"{where}: \"{property.Name}\" is given twice: keep one");
            seen |= bit;
            switch (property.Name)
            {
                case "label": label = String(property, where); break;
                case "prefix": prefix = String(property, where); break;
                case "protocol": protocol = String(property, where); break;
                case "port":
                    // The raw text, so that -0, 80.0 and 8e1 are refused by the port's own parser rather than read as numbers.
                    port = property.Value.ValueKind switch
                    {
                        JsonValueKind.Number => property.Value.GetRawText(),
                        JsonValueKind.String => property.Value.GetString(),
                        _ => throw Invalid($"{where}: \"port\" must be a number or a string such as \"any\""),
                    };
                    break;
                default:
                    throw Invalid($"{where}: unknown field \"{Escape(property.Name)}\": expected label, prefix, protocol and port");
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
            // A tubular entry: both protocols. Host bits are refused as bind refuses them, not cleared.
            var network = Binding.ParsePrefix(prefix);
            var portNumber = Binding.ParsePort(port ?? "0");
            return [Binding.Create(label, Protocol.Tcp, network, portNumber), Binding.Create(label, Protocol.Udp, network, portNumber)];
        }
        catch (SteeringException exception)
        {
            throw Invalid($"{where}: {exception.Message}", exception);
        }
    }

    private static Dictionary<string, LabelOptions> ParseLabels(JsonElement labels)
    {
        if (labels.ValueKind != JsonValueKind.Object)
            throw Invalid("\"labels\" must be an object: { \"LABEL\": { \"fallThrough\": true } }");
        var result = new Dictionary<string, LabelOptions>(StringComparer.Ordinal);
        foreach (var label in labels.EnumerateObject())
        {
            var where = $"labels[\"{Escape(label.Name)}\"]";
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
            if (result.ContainsKey(label.Name))
                throw Invalid($"{where}: the label is given twice in \"labels\": keep one");
            var fallThrough = false;
            var given = false;
            foreach (var option in label.Value.EnumerateObject())
            {
                if (option.Name != "fallThrough")
                    throw Invalid($"{where}: unknown option \"{Escape(option.Name)}\": the only option is \"fallThrough\"");
                if (given)
                    throw Invalid($"{where}: \"fallThrough\" is given twice: keep one");
                given = true;
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

    private static string Escape(string text) => TextEscape.Escape(text.Length > 64 ? text[..61] + "..." : text);

    private static int InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[256];
        var at = 0;
        while (true)
        {
            var status = Utf8.ToUtf16(bytes[at..], chars, out var read, out _, replaceInvalidSequences: false);
            at += read;
            if (status != System.Buffers.OperationStatus.DestinationTooSmall)
                return at;
        }
    }

    private static SteeringException Invalid(string message, Exception? inner = null) => new(SteeringError.InvalidFile, message, inner);
}
