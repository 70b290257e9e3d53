using System.Text;
using System.Text.Json;
using CsCheck;

namespace SkLookup.Cli.Tests.Fuzz;

/// <summary>Generators of bindings files: valid documents (tubular's and ours), and documents with one mutation that makes them invalid.</summary>
internal static class Files
{
    private sealed record Entry(string Label, string? Protocol, string Prefix, string? Port, bool PortAsNumber);

    private static readonly Gen<Entry> GoodEntry = Gen.Select(Gen.Bool, Inputs.GoodProtocol, Inputs.GoodPrefix, Gen.Int[0, 65535], Gen.Int[0, 2],
        (tubular, protocol, prefix, port, portForm) => new Entry("web", tubular ? null : protocol, prefix, portForm == 0 ? null : port.ToString(System.Globalization.CultureInfo.InvariantCulture), portForm == 1));

    /// <summary>A valid document: 1 to 6 entries of one label (so they never conflict), maybe with label options.</summary>
    public static readonly Gen<string> GoodDocument = Gen.Select(GoodEntry.Array[1, 6], Gen.Bool, (entries, labels) => Document(entries, labels));

    /// <summary>One bad value for one field of an entry (label, protocol, prefix or port).</summary>
    private static readonly Gen<(int Field, string Value)> BadValue = Gen.OneOf(
        Inputs.BadLabel.Select(v => (0, v)), Inputs.BadProtocol.Select(v => (1, v)), Inputs.BadPrefix.Select(v => (2, v)), Inputs.BadPort.Where(p => p.Length > 0).Select(v => (3, v)));

    /// <summary>A document that is invalid by construction, as bytes.</summary>
    public static readonly Gen<byte[]> BadDocument = Gen.OneOf(
        // One entry with a bad value.
        Gen.Select(GoodEntry.Array[1, 5], Gen.Int[0, 4], BadValue, (entries, at, bad) => Utf8(Document(Replace(entries, at, bad), false))),
        // Syntax that lenient readers accept.
        Gen.Select(GoodDocument, Gen.OneOf(
            ("}]", "},]"), ("]", ",]"), ("\"bindings\"", "// c\n\"bindings\""), ("\"bindings\"", "/* c */\"bindings\""), ("\"bindings\"", "'bindings'"),
            ("{\"label\"", "{\"label\":\"web\",\"label\""), ("{\"label\"", "{\"extra\":1,\"label\""), ("\"bindings\":", "\"bindings\":[],\"bindings\":"),
            ("\"label\":\"web\"", "\"label\":web"), ("\"label\":\"web\"", "\"label\":1"), ("\"label\":\"web\"", "\"label\":null"), ("\"label\":\"web\",", ""),
            ("\"prefix\":", "\"prefix\":[],\"x\":"), ("{\"bindings\"", "[{\"bindings\""), ("\"bindings\":[", "\"bindings\":{"), ("\"bindings\":[", "\"bindings\":null,\"x\":[")),
            (document, edit) => Utf8(ReplaceFirst(document, edit.Item1, edit.Item2))),
        // Truncated: the last '}' is always cut, so the rest never parses.
        Gen.Select(GoodDocument, Gen.Double[0, 1], (document, cut) => Utf8(document[..(int)(cut * (document.Length - 1))])),
        // Invalid UTF-8 inside a string, or a raw control character.
        Gen.Select(GoodDocument, Gen.OneOf<byte[]>([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x00], [0x1b], [0x0a]),
            (document, bad) => Insert(Utf8(document), Utf8(document).AsSpan().IndexOf("\"web"u8) + 2, bad)),
        // Numbers that are no port.
        Gen.Select(GoodEntry, Gen.OneOf("-1", "-0", "80.0", "8e1", "1e400", "65536", "99999999999999999999", "0x50", "true", "[]", "{}", "null"),
            (entry, number) => Utf8($$"""{"bindings":[{"label":"web","prefix":"{{entry.Prefix}}","port":{{number}}}]}""")),
        // Labels options that are wrong, and deep nesting.
        Gen.OneOf(
            """{"bindings":[],"labels":{"web":{"fallThrough":1}}}""", """{"bindings":[],"labels":{"web":{"fallthrough":true}}}""",
            """{"bindings":[],"labels":{"-web":{}}}""", """{"bindings":[],"labels":[]}""", """{"bindings":[],"labels":{"web":{"fallThrough":true,"fallThrough":false}}}""",
            """{"bindings":[],"labels":{"a\u001bb":{}}}""", "", " ", "null", "[]", "{}", "\"bindings\"", "\uFEFF\uFEFF{\"bindings\":[]}").Select(Utf8),
        Gen.Int[65, 2000].Select(depth => Utf8("{\"bindings\":" + new string('[', depth) + new string(']', depth) + "}")),
        // Two entries that bind the same traffic to two labels.
        Gen.Select(Inputs.GoodPrefix, Inputs.GoodPort, (prefix, port) =>
            Utf8($$"""{"bindings":[{"label":"a","protocol":"tcp","prefix":"{{prefix}}","port":"{{port}}"},{"label":"b","prefix":"{{prefix}}","port":"{{port}}"}]}""")));

    /// <summary>The bytes, for a failure message: as text when they are UTF-8, else base64.</summary>
    public static string Print(byte[] bytes) => System.Text.Unicode.Utf8.IsValid(bytes) && bytes.Length < 2000
        ? JsonSerializer.Serialize(Encoding.UTF8.GetString(bytes))
        : "base64:" + Convert.ToBase64String(bytes);

    private static Entry[] Replace(Entry[] entries, int at, (int Field, string Value) bad)
    {
        var copy = (Entry[])entries.Clone();
        var i = at % copy.Length;
        copy[i] = bad.Field switch
        {
            0 => copy[i] with { Label = bad.Value },
            1 => copy[i] with { Protocol = bad.Value },
            2 => copy[i] with { Prefix = bad.Value },
            _ => copy[i] with { Port = bad.Value, PortAsNumber = false },
        };
        return copy;
    }

    private static string Document(Entry[] entries, bool labels)
    {
        var text = new StringBuilder("{\"bindings\":[");
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            text.Append(i == 0 ? "" : ",").Append("{\"label\":").Append(Json(entry.Label));
            if (entry.Protocol is { } protocol)
                text.Append(",\"protocol\":").Append(Json(protocol));
            text.Append(",\"prefix\":").Append(Json(entry.Prefix));
            if (entry.Port is { } port)
                text.Append(",\"port\":").Append(entry.PortAsNumber ? port : Json(port));
            text.Append('}');
        }
        text.Append(']');
        if (labels)
            text.Append(",\"labels\":{\"web\":{\"fallThrough\":true}}");
        return text.Append('}').ToString();
    }

    private static string Json(string value) => JsonSerializer.Serialize(value);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string ReplaceFirst(string text, string what, string with)
    {
        var at = text.IndexOf(what, StringComparison.Ordinal);
        // Every edit's anchor is in every document except "}]" after a lone entry (always there) and
        // "\"label\":\"web\"," (always there): an edit without its anchor leaves a good document, so append junk.
        return at < 0 ? text + "," : text[..at] + with + text[(at + what.Length)..];
    }

    private static byte[] Insert(byte[] bytes, int at, byte[] insert) => [.. bytes[..at], .. insert, .. bytes[at..]];
}
