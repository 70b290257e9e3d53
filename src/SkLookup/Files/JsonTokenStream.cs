using System.Buffers;
using System.Text.Json;

namespace SkLookup.Files;

/// <summary>
/// A <see cref="Utf8JsonReader"/> over a stream, read in chunks, so that a bindings file of a million entries
/// is never held whole in memory, as bytes or as a document. <see cref="Read"/> refills the buffer when the
/// reader needs more; a token's value stays valid until the next <see cref="Read"/>.
/// </summary>
internal ref struct JsonTokenStream
{
    private const int ChunkBytes = 1 << 20;

    private readonly Stream? _stream;
    private byte[]? _buffer;
    private int _length;
    private bool _final;
    private Utf8JsonReader _reader;

    /// <summary>Reads the whole of <paramref name="utf8"/>, which is complete.</summary>
    public JsonTokenStream(ReadOnlySpan<byte> utf8, JsonReaderOptions options)
    {
        _stream = null;
        _buffer = null;
        _final = true;
        _reader = new Utf8JsonReader(utf8, isFinalBlock: true, new JsonReaderState(options));
    }

    /// <summary>Reads <paramref name="stream"/> to its end, a chunk at a time; <see cref="Dispose"/> returns the buffer.</summary>
    public JsonTokenStream(Stream stream, JsonReaderOptions options)
    {
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        _length = 0;
        _final = false;
        Fill();
        _reader = new Utf8JsonReader(_buffer.AsSpan(0, _length), _final, new JsonReaderState(options));
    }

    /// <summary>The current token's type.</summary>
    public readonly JsonTokenType TokenType => _reader.TokenType;

    /// <summary>The reader, to read the current token's value.</summary>
    public readonly Utf8JsonReader Reader => _reader;

    /// <summary>Moves to the next token; false at the end of the input.</summary>
    /// <exception cref="JsonException">The input is not valid JSON.</exception>
    public bool Read()
    {
        while (!_reader.Read())
        {
            if (_final)
                return false;
            Refill();
        }
        return true;
    }

    /// <summary>Skips the value the reader is on (an object or array with all it holds), leaving it on the value's last token.</summary>
    public void Skip()
    {
        if (_reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            return;
        var depth = _reader.CurrentDepth;
        while (Read() && _reader.CurrentDepth > depth)
        {
        }
    }

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        if (_buffer is not null)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
    }

    private void Refill()
    {
        var consumed = (int)_reader.BytesConsumed;
        var state = _reader.CurrentState;
        var left = _length - consumed;
        if (consumed == 0 && left == _buffer!.Length)
        {
            // One token larger than the buffer (a huge string): grow, rather than fail.
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(0, left).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        else
        {
            _buffer.AsSpan(consumed, left).CopyTo(_buffer);
        }
        _length = left;
        Fill();
        _reader = new Utf8JsonReader(_buffer.AsSpan(0, _length), _final, state);
    }

    private void Fill()
    {
        while (_length < _buffer!.Length)
        {
            var read = _stream!.Read(_buffer, _length, _buffer.Length - _length);
            if (read == 0)
            {
                _final = true;
                return;
            }
            _length += read;
        }
    }
}
