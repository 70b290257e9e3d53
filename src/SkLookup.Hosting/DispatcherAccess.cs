using SkLookup.Bpf;

namespace SkLookup.Hosting;

/// <summary>Opens the dispatcher that the options point at, turning "not there" into what the app's operator should do.</summary>
internal static class DispatcherAccess
{
    /// <summary>Opens the dispatcher of <see cref="SkLookupOptions.Namespace"/> (or the calling thread's) on <see cref="SkLookupOptions.BpfFsPath"/>.</summary>
    /// <param name="settings">The options.</param>
    /// <param name="write">Take the writer's lock.</param>
    /// <param name="lockTimeout">How long to wait for the lock; <see cref="SkLookupOptions.LockTimeout"/> by default.</param>
    public static Dispatcher Open(SkLookupOptions settings, bool write, TimeSpan? lockTimeout = null)
    {
        var netns = settings.Namespace;
        var opened = netns is null ? NetworkNamespace.Current() : null;
        var inode = (netns ?? opened!).Inode;
        try
        {
            return Dispatcher.Open(netns ?? opened!, settings.BpfFsPath, write, lockTimeout ?? settings.LockTimeout);
        }
        catch (SteeringException exception) when (exception.Error == SteeringError.NotLoaded)
        {
            throw new SteeringException(SteeringError.NotLoaded,
                $"sk_lookup: steering is not loaded in network namespace {inode} on bpffs {settings.BpfFsPath}, so the app's sockets cannot be registered: " +
                $"run 'sklookup load' (with --bpffs {settings.BpfFsPath} if it is not the default) before starting the app, or set SkLookup:BpfFs (SkLookupOptions.BpfFsPath) to where it was loaded", exception);
        }
        catch (SteeringException exception) when (exception.Error == SteeringError.BpfFsMissing)
        {
            throw new SteeringException(SteeringError.BpfFsMissing,
                $"sk_lookup: {settings.BpfFsPath} is not a bpffs mount ({exception.Message}): mount bpffs there, or set SkLookup:BpfFs (SkLookupOptions.BpfFsPath) to the mount 'sklookup load' used", exception);
        }
        finally
        {
            opened?.Dispose();
        }
    }
}
