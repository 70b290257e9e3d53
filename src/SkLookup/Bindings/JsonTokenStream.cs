using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace SkLookup;

/// <summary>
/// A <see cref="Utf8JsonReader"/> over a stream, read in chunks, so that a bindings file of a million entries
/// is never held whole in memory, as bytes or as a document. <see cref="Read"/> refills the buffer when the
/// reader needs more; a token's value stays valid until the next <see cref="Read"/>. A stream's bytes are
/// checked to be UTF-8 as they arrive (a leading byte order mark is skipped), as the span form's caller
/// checks them at once.
/// </summary>
internal ref struct JsonTokenStream
{
    /// <summary>UTF-8's byte order mark, which editors on some systems write first.</summary>
    public static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    private const int ChunkBytes = 1 << 20;

    private readonly Stream? _stream;
    private byte[]? _buffer;
    private int _length;
    private int _checked;     // Bytes of the buffer checked to be UTF-8.
    private long _discarded;  // Bytes of the stream before the buffer's start.
    private bool _final;
    private Utf8JsonReader _reader;

    /// <summary>Reads the whole of <paramref name="utf8"/>, which is complete and checked to be UTF-8.</summary>
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
        var start = _buffer.AsSpan(0, _length).StartsWith(ByteOrderMark) ? ByteOrderMark.Length : 0;
        if (start > 0)
        {
            _buffer.AsSpan(start, _length - start).CopyTo(_buffer);
            _length -= start;
            _discarded = start;
        }
        CheckUtf8();
        _reader = new Utf8JsonReader(_buffer.AsSpan(0, _length), _final, new JsonReaderState(options));
    }

    /// <summary>The current token's type.</summary>
    public readonly JsonTokenType TokenType => _reader.TokenType;

    /// <summary>The reader, to read the current token's value; a reference, as the reader is too large to copy for every token.</summary>
    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    public ref Utf8JsonReader Reader => ref _reader;

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

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        if (_buffer is not null)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
    }

    /// <summary>Where the first sequence that is not UTF-8 starts in <paramref name="bytes"/>.</summary>
    public static int InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[256];
        var at = 0;
        while (true)
        {
            var status = Utf8.ToUtf16(bytes[at..], chars, out var read, out _, replaceInvalidSequences: false);
            at += read;
            if (status != OperationStatus.DestinationTooSmall)
                return at;
        }
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
        _checked -= consumed;
        _discarded += consumed;
        Fill();
        CheckUtf8();
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

    /// <summary>Checks the bytes that arrived, up to the last whole character unless the stream has ended.</summary>
    private void CheckUtf8()
    {
        var end = _length;
        if (!_final)
        {
            // A character split by the chunk's end is checked with the next chunk: back up to its first byte.
            var back = 0;
            while (back < 3 && end - back - 1 >= _checked && (_buffer![end - back - 1] & 0xC0) == 0x80)
                back++;
            if (end - back - 1 >= _checked && _buffer![end - back - 1] >= 0xC0)
                back++;
            end -= back;
        }
        var span = _buffer.AsSpan(_checked, end - _checked);
        if (!Utf8.IsValid(span))
            throw new SteeringException(SteeringError.InvalidFile,
                $"the bindings file is not valid UTF-8 (at byte {_discarded + _checked + InvalidUtf8At(span) + 1}): save it as UTF-8");
        _checked = end;
    }
}
