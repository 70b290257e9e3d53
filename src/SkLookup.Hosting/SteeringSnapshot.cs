using Microsoft.Extensions.Options;
using SkLookup.Bpf;

namespace SkLookup.Hosting;

/// <summary>
/// What the dispatcher of the app's namespace looks like at one moment, read as <c>sklookup status</c>
/// reads it (a shared lock, held only while reading): its destinations and counters, its bindings, and
/// why it could not be read, if it could not, and why an upgrade is due, if one is.
/// </summary>
internal sealed record SteeringSnapshot(
    DateTime TakenAt,
    bool Loaded,
    string? Problem,
    SteeringError? Error,
    ulong NamespaceInode,
    IReadOnlyList<DestinationStatus> Destinations,
    IReadOnlyList<Binding> Bindings,
    string? UpgradeReason = null)
{
    /// <summary>How long a reader waits for a writer (an apply, say) before the read counts as failed.</summary>
    private static readonly TimeSpan ReadLockTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Reads the dispatcher that <paramref name="settings"/> point at.</summary>
    public static SteeringSnapshot Read(SkLookupOptions settings)
    {
        var now = DateTime.UtcNow;
        ulong inode;
        using (var netns = settings.Namespace is null ? NetworkNamespace.Current() : null)
            inode = (netns ?? settings.Namespace!).Inode;
        try
        {
            using var dispatcher = DispatcherAccess.Open(settings, write: false, ReadLockTimeout);
            var version = dispatcher.Version();
            return new SteeringSnapshot(now, true, null, null, inode, dispatcher.Destinations(), dispatcher.Bindings(),
                version.UpgradeDue ? $"the dispatcher is {version.Loaded}, and this app is {version.Current}: {version.Reason}" : null);
        }
        catch (SteeringException exception) when (exception.Error is SteeringError.NotLoaded or SteeringError.BpfFsMissing)
        {
            return new SteeringSnapshot(now, false, exception.Message, exception.Error, inode, [], []);
        }
        catch (SteeringException exception)
        {
            // Loaded, but unreadable by this version (VersionMismatch), locked, damaged, or refused.
            return new SteeringSnapshot(now, true, exception.Message, exception.Error, inode, [], []);
        }
    }
}

/// <summary>Reads <see cref="SteeringSnapshot"/>s for the metrics, at most one per interval: one collection observes every instrument.</summary>
internal sealed class SteeringSnapshots(IOptions<SkLookupOptions> options)
{
    /// <summary>How old a snapshot may be and still serve an observation.</summary>
    internal TimeSpan MaxAge { get; set; } = TimeSpan.FromMilliseconds(250);

    private readonly Lock _lock = new();
    private SteeringSnapshot? _last;

    public SteeringSnapshot Current()
    {
        lock (_lock)
        {
            if (_last is not null && DateTime.UtcNow - _last.TakenAt <= MaxAge)
                return _last;
            return _last = SteeringSnapshot.Read(options.Value);
        }
    }
}
