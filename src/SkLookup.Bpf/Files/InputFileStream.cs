using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>The stream of <see cref="InputFile.OpenRead"/>: reads with the input's bounds, and closes the file when disposed.</summary>
internal sealed class InputFileStream(int fd, bool ownsFd, string shown, bool regular, long size, long maxBytes, TimeSpan idleTimeout) : Stream
{
    private long _read;
    private bool _closed;

    public override bool CanRead => !_closed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    /// <summary>The size of a regular file, as it was opened.</summary>
    public override long Length => regular ? size : throw new NotSupportedException($"{shown} is not a regular file: its length is unknown");

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (buffer.IsEmpty)
            return 0;
        var read = InputFile.ReadChunk(fd, shown, regular, buffer, _read, maxBytes, idleTimeout);
        _read += read;
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_closed && ownsFd)
            LibC.Close(fd);
        _closed = true;
        base.Dispose(disposing);
    }
}
