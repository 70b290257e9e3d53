using System.Runtime;

namespace SkLookup.Cli;

/// <summary>
/// Parsing a large bindings file inside a no-GC region. Almost everything the parser allocates lives on (a
/// binding and its address per entry), so collections during the parse only copy the same objects from
/// generation to generation; without them, the first collection after the parse promotes them once. The
/// region is sized from the file, and a file that allocates more than that simply ends it early.
/// </summary>
internal sealed class ParseWithoutCollections : IDisposable
{
    /// <summary>Below this, a parse takes milliseconds and collections do not matter.</summary>
    private const long MinFileBytes = 16 << 20;

    /// <summary>What the parser allocates per byte of file, measured on files of a million entries (about 2.5), with room.</summary>
    private const long BytesPerFileByte = 4;

    private const long MaxRegionBytes = 1L << 30;

    private readonly bool _started;

    private ParseWithoutCollections(bool started) => _started = started;

    /// <summary>Starts a region for a file of <paramref name="fileBytes"/> (0: unknown, no region).</summary>
    public static ParseWithoutCollections Start(long fileBytes)
    {
        if (fileBytes < MinFileBytes)
            return new(false);
        try
        {
            return new(GC.TryStartNoGCRegion(Math.Min(fileBytes * BytesPerFileByte, MaxRegionBytes)));
        }
        catch (Exception exception) when (exception is ArgumentOutOfRangeException or InvalidOperationException)
        {
            return new(false); // Larger than the runtime allows, or a region is active: parse as usual.
        }
    }

    /// <summary>Ends the region, if the parse did not outgrow it.</summary>
    public void Dispose()
    {
        if (_started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            GC.EndNoGCRegion();
    }
}
