using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SkLookup.Cli;

/// <summary>
/// JSON written as it is produced, with <see cref="Utf8JsonWriter"/>, for results too large to build as a
/// <c>JsonNode</c> first (a million bindings would take about a gigabyte as nodes). The layout matches
/// <see cref="CommandContext.Write"/>'s: indented, with relaxed escaping.
/// </summary>
internal static class JsonOutput
{
    private const int FlushBytes = 1 << 16;

    private static readonly JsonWriterOptions s_options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes one document to <paramref name="output"/>: what <paramref name="write"/> writes, then a newline.</summary>
    public static void Write(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using (var stream = new TextWriterStream(output))
        using (var json = new Utf8JsonWriter(stream, s_options))
        {
            write(json);
            json.Flush();
        }
        output.WriteLine();
        output.Flush();
    }

    /// <summary>Writes <paramref name="bindings"/> as the array <paramref name="name"/>, as <see cref="JsonViews.Binding"/> shows each.</summary>
    public static void WriteBindings(Utf8JsonWriter json, string name, IEnumerable<Binding> bindings)
    {
        json.WriteStartArray(name);
        foreach (var binding in bindings)
        {
            json.WriteStartObject();
            json.WriteString("label", binding.Label);
            json.WriteString("protocol", binding.Protocol.Name());
            json.WriteString("prefix", binding.Prefix.ToString());
            json.WriteNumber("port", binding.Port);
            json.WriteEndObject();
            if (json.BytesPending > FlushBytes)
                json.Flush();
        }
        json.WriteEndArray();
    }

    /// <summary>A write-only stream that decodes UTF-8 into a <see cref="TextWriter"/>.</summary>
    private sealed class TextWriterStream(TextWriter writer) : Stream
    {
        private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
        private char[] _chars = new char[FlushBytes];

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var needed = _decoder.GetCharCount(buffer, flush: false);
            if (needed > _chars.Length)
                _chars = new char[needed];
            var count = _decoder.GetChars(buffer, _chars, flush: false);
            writer.Write(_chars, 0, count);
        }

        public override void Flush() => writer.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
