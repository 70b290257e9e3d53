using System.Diagnostics;
using SkLookup.Bpf;

namespace SkLookup.State;

/// <summary>
/// An advisory <c>flock(2)</c> on a state directory: writers hold it exclusively, readers shared. The
/// lock belongs to the open directory, so it ends when the holder closes it or dies, and a crashed
/// command never leaves the state locked.
/// </summary>
internal sealed class StateLock : IDisposable
{
    private readonly FileDescriptor _directory;

    private StateLock(FileDescriptor directory, string path, bool exclusive, bool held = true)
    {
        _directory = directory;
        Path = path;
        Exclusive = exclusive;
        Held = held;
    }

    /// <summary>False for a reader that found a writer holding the lock and reads a snapshot without it (<see cref="TryAcquireOrSnapshot"/>).</summary>
    public bool Held { get; }

    /// <summary>
    /// A reader's lock: shared if no writer holds the lock now, and otherwise no lock at all, without waiting: the reader then
    /// reads a snapshot that it checks itself (<see cref="Dispatcher"/>'s snapshot open), so that it never waits behind a long
    /// writer. Returns null if the directory does not exist.
    /// </summary>
    public static StateLock? TryAcquireOrSnapshot(string path)
    {
        FileDescriptor directory;
        try
        {
            directory = FileDescriptor.OpenReadOnly(path, directory: true);
        }
        catch (BpfException exception) when (exception.Reason == BpfErrorReason.NotFound)
        {
            return null;
        }
        try
        {
            return new StateLock(directory, path, exclusive: false, held: directory.TryLock(exclusive: false));
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>The locked directory.</summary>
    public string Path { get; }

    /// <summary>True for a writer's lock.</summary>
    public bool Exclusive { get; }

    /// <summary>
    /// Locks <paramref name="path"/>, polling until <paramref name="timeout"/> expires; then throws
    /// <see cref="SteeringError.LockTimeout"/>. Returns null if the directory does not exist.
    /// </summary>
    public static StateLock? TryAcquire(string path, bool exclusive, TimeSpan timeout)
    {
        FileDescriptor directory;
        try
        {
            directory = FileDescriptor.OpenReadOnly(path, directory: true);
        }
        catch (BpfException exception) when (exception.Reason == BpfErrorReason.NotFound)
        {
            return null;
        }
        try
        {
            var clock = Stopwatch.StartNew();
            var pause = TimeSpan.FromMilliseconds(5);
            while (!directory.TryLock(exclusive))
            {
                if (clock.Elapsed >= timeout)
                    throw new SteeringException(SteeringError.LockTimeout,
                        $"another sklookup command holds the lock on {path}{LockHolders.Describe(path)} (waited {timeout.TotalSeconds:0.###} s); retry, wait longer with --lock-timeout, or find the holder with `fuser -v {path}`");
                Thread.Sleep(pause);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 100));
            }
            return new StateLock(directory, path, exclusive);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>
    /// True while the locked directory is still the one at <see cref="Path"/>: a command that waited for
    /// the lock may find that an unload removed the directory (or a load made a new one) meanwhile.
    /// </summary>
    public bool IsCurrent => _directory.IsSameFile(Path);

    /// <summary>Releases the lock (closing the directory releases the flock).</summary>
    public void Dispose() => _directory.Dispose();
}
