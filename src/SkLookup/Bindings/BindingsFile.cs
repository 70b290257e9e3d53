using System.Globalization;
using System.Runtime.InteropServices;
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
/// <para>The file is read token by token (<see cref="Read(Stream, bool)"/> a chunk at a time), never as a whole
/// document, and each distinct label is checked and stored once: a file of a million entries costs about
/// what its bindings do.</para>
/// </remarks>
public static class BindingsFile
{
    private static readonly JsonReaderOptions Options = new() { CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false };

    // Labels are UTF-8 in the file and in the maps: bytes that are not UTF-8 are an error, not U+FFFD.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parses the bindings of a file (see the remarks for the format).</summary>
    public static IReadOnlyList<Binding> Parse(string text) => ParseDocument(text).Bindings;

    /// <summary>Parses a whole file: bindings and label options.</summary>
    public static BindingsDocument ParseDocument(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ParseDocument(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Parses a whole file from its bytes, which must be valid UTF-8 (a leading byte order mark is skipped).</summary>
    public static BindingsDocument ParseDocument(ReadOnlyMemory<byte> utf8) => ParseDocument(utf8, checkConflicts: true);

    /// <summary>Parses a whole file from its bytes, as <see cref="ParseDocument(ReadOnlyMemory{byte})"/> does.</summary>
    /// <param name="utf8">The file.</param>
    /// <param name="checkConflicts">
    /// False skips the check that no two entries bind the same traffic to different labels, for a caller that
    /// passes the bindings straight to <see cref="Dispatcher.ReplaceBindings"/>, which makes that check itself
    /// (naming both bindings, not their entries): a million entries then cost one check instead of two.
    /// </param>
    public static BindingsDocument ParseDocument(ReadOnlyMemory<byte> utf8, bool checkConflicts)
    {
        var bytes = utf8.Span;
        if (bytes.StartsWith(JsonTokenStream.ByteOrderMark))
            bytes = bytes[3..];
        if (!Utf8.IsValid(bytes))
            throw Invalid($"the bindings file is not valid UTF-8 (at byte {JsonTokenStream.InvalidUtf8At(bytes) + 1 + (utf8.Length - bytes.Length)}): save it as UTF-8");
        var tokens = new JsonTokenStream(bytes, Options);
        return ParseDocument(ref tokens, checkConflicts);
    }

    /// <summary>Reads a whole file from <paramref name="stream"/>, a chunk at a time, to its end.</summary>
    /// <param name="stream">The file.</param>
    /// <param name="checkConflicts">
    /// False skips the check that no two entries bind the same traffic to different labels, for a caller that
    /// passes the bindings straight to <see cref="Dispatcher.ReplaceBindings"/>, which makes that check itself
    /// (naming both bindings, not their entries): a million entries then cost one check instead of two.
    /// </param>
    /// <remarks>
    /// Errors reading the stream propagate as they are (<see cref="IOException"/>); errors in its content are
    /// <see cref="SteeringError.InvalidFile"/>. The stream is read to its end: bound its length, as
    /// <c>sklookup apply</c> does, if it comes from someone else.
    /// </remarks>
    public static BindingsDocument Read(Stream stream, bool checkConflicts = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var tokens = new JsonTokenStream(stream, Options);
        try
        {
            return ParseDocument(ref tokens, checkConflicts);
        }
        finally
        {
            tokens.Dispose();
        }
    }

    private static BindingsDocument ParseDocument(ref JsonTokenStream tokens, bool checkConflicts)
    {
        try
        {
            if (!tokens.Read())
                throw Invalid("the bindings file is empty: it must be a JSON object with a \"bindings\" array");
            if (tokens.TokenType != JsonTokenType.StartObject)
                throw Invalid("the bindings file must be a JSON object with a \"bindings\" array");
            List<Binding>? bindings = null;
            Dictionary<string, LabelOptions>? labels = null;
            while (tokens.Read() && tokens.TokenType == JsonTokenType.PropertyName)
            {
                // The name is read before the next token: reading on may move the buffer under it.
                var reader = tokens.Reader;
                if (reader.ValueTextEquals("bindings"u8))
                {
                    if (bindings is not null)
                        throw Invalid("field \"bindings\" appears twice at the top level: keep one");
                    tokens.Read();
                    if (tokens.TokenType != JsonTokenType.StartArray)
                        throw Invalid("the bindings file needs a \"bindings\" array");
                    bindings = ParseBindings(ref tokens, checkConflicts);
                }
                else if (reader.ValueTextEquals("labels"u8))
                {
                    if (labels is not null)
                        throw Invalid("field \"labels\" appears twice at the top level: keep one");
                    tokens.Read();
                    labels = ParseLabels(ref tokens);
                }
                else
                {
                    throw Invalid($"unknown field \"{Escape(reader.GetString()!)}\" at the top level: expected \"bindings\" and, optionally, \"labels\"");
                }
            }
            // Anything after the object is a syntax error, which the reader reports.
            while (tokens.Read())
            {
            }
            if (bindings is null)
                throw Invalid("the bindings file needs a \"bindings\" array");
            return new BindingsDocument(bindings, labels ?? new Dictionary<string, LabelOptions>(StringComparer.Ordinal));
        }
        catch (JsonException exception)
        {
            throw Invalid($"the bindings file is not valid JSON (line {exception.LineNumber + 1}, byte {exception.BytePositionInLine + 1}): {FirstSentence(exception.Message)}", exception);
        }
    }

    /// <summary>The entries of the "bindings" array, the reader on its start; leaves the reader on its end.</summary>
    private static List<Binding> ParseBindings(ref JsonTokenStream tokens, bool checkConflicts)
    {
        var bindings = new List<Binding>();
        // Each match's first binding: the entry it came from, and its place in the list (which has its label).
        var owners = new Dictionary<MatchKey, (int Entry, int Position)>();
        var labels = new LabelCache();
        var prefixes = new PrefixBuffer();
        var index = 0;
        while (tokens.Read() && tokens.TokenType != JsonTokenType.EndArray)
        {
            var entry = ParseEntry(ref tokens, index, labels, prefixes);
            try
            {
                if (entry.Protocol is { } protocol)
                {
                    Add(Binding.CreateWithCheckedLabel(entry.Label, protocol, Binding.ParsePrefix(prefixes.Text), entry.Port));
                }
                else
                {
                    // A tubular entry: both protocols. Host bits are refused as bind refuses them, not cleared.
                    var network = Binding.ParsePrefix(prefixes.Text);
                    Add(Binding.CreateWithCheckedLabel(entry.Label, Protocol.Tcp, network, entry.Port));
                    Add(Binding.CreateWithCheckedLabel(entry.Label, Protocol.Udp, network, entry.Port));
                }
            }
            catch (SteeringException exception) when (exception.Error != SteeringError.InvalidFile)
            {
                throw Invalid($"bindings[{index}]: {exception.Message}", exception);
            }
            index++;
        }
        return bindings;

        void Add(Binding binding)
        {
            if (!checkConflicts)
            {
                bindings.Add(binding);
                return;
            }
            ref var owner = ref CollectionsMarshal.GetValueRefOrAddDefault(owners, MatchKey.Of(binding), out var exists);
            if (!exists)
                owner = (index, bindings.Count);
            else if (bindings[owner.Position].Label is var label && label != binding.Label)
                throw Invalid($"bindings[{index}] binds {binding.Protocol.Name()} {binding.Prefix} port {PortText(binding.Port)} to '{binding.Label}', but bindings[{owner.Entry}] binds it to '{label}': keep one of them");
            bindings.Add(binding);
        }
    }

    /// <summary>
    /// A binding's match as plain numbers, the key of the duplicate check: comparing and hashing it reads no
    /// other object, where a <see cref="BindingMatch"/> reaches into its prefix's address for both, and at a
    /// million entries those reads are most of the check's time.
    /// </summary>
    private readonly record struct MatchKey(ulong High, ulong Low, ulong Rest)
    {
        public static MatchKey Of(Binding binding)
        {
            Span<byte> address = stackalloc byte[16];
            address.Clear();
            binding.Prefix.BaseAddress.TryWriteBytes(address, out var written);
            var rest = (ulong)written << 40 | (ulong)binding.Protocol << 32 | (ulong)binding.Prefix.PrefixLength << 16 | binding.Port;
            return new MatchKey(
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(address),
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(address[8..]),
                rest);
        }
    }

    private enum Field
    {
        Label,
        Prefix,
        Protocol,
        Port,
    }

    /// <summary>One entry's fields, as written.</summary>
    /// <summary>One entry's fields, as written; its prefix is in the <see cref="PrefixBuffer"/>.</summary>
    private readonly record struct Entry(string Label, Protocol? Protocol, int Port);

    /// <summary>The current entry's prefix, as characters: a prefix is parsed once and never needs to be a string.</summary>
    private sealed class PrefixBuffer
    {
        private char[] _chars = new char[64];
        private int _length = -1;

        public ReadOnlySpan<char> Text => _chars.AsSpan(0, _length);

        public bool IsSet => _length >= 0;

        public void Clear() => _length = -1;

        public void Set(ref Utf8JsonReader value, int index)
        {
            if (value.TokenType != JsonTokenType.String)
                throw Invalid($"bindings[{index}]: \"prefix\" must be a string");
            if (value.ValueIsEscaped || value.HasValueSequence || value.ValueSpan.Length > _chars.Length)
            {
                var text = value.GetString()!;
                if (text.Length > _chars.Length)
                    _chars = new char[text.Length];
                text.CopyTo(_chars);
                _length = text.Length;
                return;
            }
            // JSON reader validated the string's UTF-8 already.
            _length = Encoding.UTF8.GetChars(value.ValueSpan, _chars);
        }
    }

    private static Entry ParseEntry(ref JsonTokenStream tokens, int index, LabelCache labels, PrefixBuffer prefix)
    {
        if (tokens.TokenType != JsonTokenType.StartObject)
            throw Invalid($"bindings[{index}]: an entry must be an object with \"label\", \"prefix\" and optionally \"protocol\" and \"port\"");
        string? label = null;
        prefix.Clear();
        Protocol? protocol = null;
        var port = 0;
        var seen = 0;
        try
        {
            while (tokens.Read() && tokens.TokenType == JsonTokenType.PropertyName)
            {
                // The name is read before the next token: reading on may move the buffer under it.
                ref var name = ref tokens.Reader;
                Field field;
                if (name.ValueTextEquals("label"u8))
                    field = Field.Label;
                else if (name.ValueTextEquals("prefix"u8))
                    field = Field.Prefix;
                else if (name.ValueTextEquals("protocol"u8))
                    field = Field.Protocol;
                else if (name.ValueTextEquals("port"u8))
                    field = Field.Port;
                else
                    throw Invalid($"bindings[{index}]: unknown field \"{Escape(name.GetString()!)}\": expected label, prefix, protocol and port");
                if ((seen & (1 << (int)field)) != 0)
                    throw Invalid($"bindings[{index}]: \"{FieldName(field)}\" is given twice: keep one");
                seen |= 1 << (int)field;
                tokens.Read();
                ref var value = ref tokens.Reader;
                switch (field)
                {
                    case Field.Label:
                        label = labels.Get(ref value, index);
                        break;
                    case Field.Prefix:
                        prefix.Set(ref value, index);
                        break;
                    case Field.Protocol:
                        protocol = ParseProtocol(ref value, index);
                        break;
                    default:
                        // A number as written: -0, 80.0 and 8e1 go to the port's own parser, which refuses them.
                        port = value.TokenType switch
                        {
                            JsonTokenType.Number when PlainDecimal(value.ValueSpan) is { } number => number,
                            JsonTokenType.Number => Binding.ParsePort(Encoding.UTF8.GetString(value.ValueSpan)),
                            JsonTokenType.String => Binding.ParsePort(value.GetString()!),
                            _ => throw Invalid($"bindings[{index}]: \"port\" must be a number or a string such as \"any\""),
                        };
                        break;
                }
            }
        }
        catch (SteeringException exception) when (exception.Error != SteeringError.InvalidFile)
        {
            throw Invalid($"bindings[{index}]: {exception.Message}", exception);
        }
        if (label is null)
            throw Invalid($"bindings[{index}]: \"label\" is missing");
        if (!prefix.IsSet)
            throw Invalid($"bindings[{index}]: \"prefix\" is missing");
        return new Entry(label, protocol, port);
    }

    private static Protocol ParseProtocol(ref Utf8JsonReader value, int index)
    {
        if (value.TokenType == JsonTokenType.String && !value.ValueIsEscaped)
        {
            if (value.ValueTextEquals("tcp"u8))
                return Protocol.Tcp;
            if (value.ValueTextEquals("udp"u8))
                return Protocol.Udp;
        }
        return ProtocolNames.ParseProtocol(String(ref value, index, "protocol"));
    }

    private static string String(ref Utf8JsonReader value, int index, string field) => value.TokenType == JsonTokenType.String
        ? value.GetString()!
        : throw Invalid($"bindings[{index}]: \"{field}\" must be a string");

    private static string FieldName(Field field) => field switch
    {
        Field.Label => "label",
        Field.Prefix => "prefix",
        Field.Protocol => "protocol",
        _ => "port",
    };

    /// <summary>Digits without a leading zero, as a port number; null for anything else (or too long), which the port's parser then words.</summary>
    private static int? PlainDecimal(ReadOnlySpan<byte> digits)
    {
        if (digits.IsEmpty || digits.Length > 5 || (digits.Length > 1 && digits[0] == (byte)'0'))
            return null;
        var value = 0;
        foreach (var digit in digits)
        {
            if (digit is < (byte)'0' or > (byte)'9')
                return null;
            value = value * 10 + (digit - '0');
        }
        return value;
    }

    /// <summary>The "labels" object, the reader on its value; leaves the reader on its end.</summary>
    private static Dictionary<string, LabelOptions> ParseLabels(ref JsonTokenStream tokens)
    {
        if (tokens.TokenType != JsonTokenType.StartObject)
            throw Invalid("\"labels\" must be an object: { \"LABEL\": { \"fallThrough\": true } }");
        var result = new Dictionary<string, LabelOptions>(StringComparer.Ordinal);
        while (tokens.Read() && tokens.TokenType == JsonTokenType.PropertyName)
        {
            var name = tokens.Reader.GetString()!;
            var where = $"labels[\"{Escape(name)}\"]";
            try
            {
                Label.Validate(name);
            }
            catch (SteeringException exception)
            {
                throw Invalid($"{where}: {exception.Message}", exception);
            }
            tokens.Read();
            if (tokens.TokenType != JsonTokenType.StartObject)
                throw Invalid($"{where}: options must be an object, e.g. {{ \"fallThrough\": true }}");
            if (result.ContainsKey(name))
                throw Invalid($"{where}: the label is given twice in \"labels\": keep one");
            var fallThrough = false;
            var given = false;
            while (tokens.Read() && tokens.TokenType == JsonTokenType.PropertyName)
            {
                var option = tokens.Reader;
                if (!option.ValueTextEquals("fallThrough"u8))
                    throw Invalid($"{where}: unknown option \"{Escape(option.GetString()!)}\": the only option is \"fallThrough\"");
                if (given)
                    throw Invalid($"{where}: \"fallThrough\" is given twice: keep one");
                given = true;
                tokens.Read();
                if (tokens.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                    throw Invalid($"{where}: \"fallThrough\" must be true or false");
                fallThrough = tokens.TokenType == JsonTokenType.True;
            }
            result[name] = new LabelOptions(fallThrough);
        }
        return result;
    }

    /// <summary>
    /// Each distinct label once: checked by <see cref="Label.Validate"/> when first seen, then shared by every
    /// binding that names it, so a million entries on a few thousand labels hold a few thousand strings.
    /// </summary>
    private sealed class LabelCache
    {
        private readonly Dictionary<string, string> _labels = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _byChars;

        public LabelCache() => _byChars = _labels.GetAlternateLookup<ReadOnlySpan<char>>();

        public string Get(ref Utf8JsonReader value, int index)
        {
            if (value.TokenType != JsonTokenType.String)
                throw Invalid($"bindings[{index}]: \"label\" must be a string");
            if (value.ValueIsEscaped || value.HasValueSequence || value.ValueSpan.Length > 4 * Label.MaxBytes)
                return Add(value.GetString()!, index);
            Span<char> chars = stackalloc char[4 * Label.MaxBytes];
            int length;
            try
            {
                length = StrictUtf8.GetChars(value.ValueSpan, chars);
            }
            catch (DecoderFallbackException exception)
            {
                throw Invalid($"bindings[{index}]: \"label\" is not valid UTF-8", exception);
            }
            return _byChars.TryGetValue(chars[..length], out var known) ? known : Add(new string(chars[..length]), index);
        }

        private string Add(string label, int index)
        {
            try
            {
                Label.Validate(label);
            }
            catch (SteeringException exception)
            {
                throw Invalid($"bindings[{index}]: {exception.Message}", exception);
            }
            _labels[label] = label;
            return label;
        }
    }

    private static string PortText(ushort port) => port == 0 ? "any" : port.ToString(CultureInfo.InvariantCulture);

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message.TrimEnd('.') : message[..end];
    }

    private static string Escape(string text) => TextEscape.Escape(text.Length > 64 ? text[..61] + "..." : text);

    private static SteeringException Invalid(string message, Exception? inner = null) => new(SteeringError.InvalidFile, message, inner);
}
