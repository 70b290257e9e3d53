using System.Security.Cryptography;
using SkLookup.Bpf;
using SkLookup.DataPlane;
using SkLookup.State;

namespace SkLookup;

/// <summary>Opening the state, and the checks before reads and writes.</summary>
public sealed partial class Dispatcher
{
    // ---------------------------------------------------------------- opening

    private static void CheckBpfFs(string bpffsPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(bpffsPath);
        try
        {
            BpfFileSystem.EnsureBpfFs(bpffsPath);
        }
        catch (BpfException exception)
        {
            throw new SteeringException(SteeringError.BpfFsMissing, exception.Message, exception);
        }
    }

    private static Dispatcher OpenState(ulong netnsInode, string path, bool write, TimeSpan timeout)
    {
        var notLoaded = $"the dispatcher is not loaded in network namespace {netnsInode} (no state at {path}): run load first";
        var stateLock = StateLock.TryAcquire(path, write, timeout) ?? throw new SteeringException(SteeringError.NotLoaded, notLoaded);
        var maps = new Dictionary<string, BpfMap>();
        NetNsLink? link = null;
        BpfProgram? program = null;
        try
        {
            if (!stateLock.IsCurrent)
                throw new SteeringException(SteeringError.NotLoaded, notLoaded + " (it was unloaded while this command waited)");
            var linkPath = Path.Combine(path, StatePaths.Link);
            if (!File.Exists(linkPath))
                throw Damaged(path, "the link is not pinned");
            link = NetNsLink.OpenPinned(linkPath);
            var info = link.ReadInfo();
            if (info.NetNsInode != netnsInode)
                throw new SteeringException(SteeringError.NotLoaded,
                    $"the state at {path} belongs to a network namespace that no longer exists (its link is detached): run load to replace it");
            if (write)
                StateDirectory.RecoverStaged(path, info.ProgramId);
            program = BpfProgram.OpenById(info.ProgramId);
            foreach (var spec in ControlLayout.AllMaps)
            {
                var pin = Path.Combine(path, spec.Name);
                if (File.Exists(pin))
                    maps[spec.Name] = BpfMap.OpenPinned(pin);
            }
            var dispatcher = new Dispatcher(stateLock, netnsInode, maps, link, program);
            if (write)
                dispatcher.RepinProgram();
            return dispatcher;
        }
        catch
        {
            foreach (var map in maps.Values)
                map.Dispose();
            program?.Dispose();
            link?.Dispose();
            stateLock.Dispose();
            throw;
        }
    }

    /// <summary>True if the state at <paramref name="path"/> has a link that no longer steers the namespace.</summary>
    private static bool IsStale(string path, ulong netnsInode)
    {
        var linkPath = Path.Combine(path, StatePaths.Link);
        if (!File.Exists(linkPath))
            throw Damaged(path, "the link is not pinned");
        using var link = NetNsLink.OpenPinned(linkPath);
        return link.ReadInfo().NetNsInode != netnsInode;
    }

    private static void RemoveLocked(string path, TimeSpan timeout)
    {
        using var stateLock = StateLock.TryAcquire(path, exclusive: true, timeout);
        if (stateLock is not null)
            StateDirectory.Remove(path);
    }

    /// <summary>Builds the state in a temporary directory next to <paramref name="path"/>, attaches it, and renames it into place.</summary>
    private static void Build(NetworkNamespace netns, string bpffsPath, string path)
    {
        var temp = Path.Combine(StatePaths.Root(bpffsPath), StatePaths.TempPrefix(netns.Inode) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        var maps = new Dictionary<string, BpfMap>();
        BpfProgram? program = null;
        NetNsLink? link = null;
        try
        {
            StateDirectory.Create(temp);
            foreach (var spec in ControlLayout.AllMaps)
            {
                var map = BpfMap.Create(spec);
                maps[spec.Name] = map;
                StateDirectory.Pin(map, Path.Combine(temp, spec.Name));
            }
            var shape = DispatcherShape.Empty;
            program = DispatcherProgram.Load(shape, maps);
            StateDirectory.Pin(program, Path.Combine(temp, StatePaths.Program));
            DispatcherMeta.Current(0, program.Info.Tag, program.Info.Tag, shape.Fingerprint).Write(maps[ControlLayout.Meta.Name]);
            link = NetNsLink.Attach(program, netns);
            StateDirectory.Pin(link, Path.Combine(temp, StatePaths.Link));
            BpfFileSystem.Rename(temp, path);
        }
        catch
        {
            StateDirectory.Remove(temp);
            throw;
        }
        finally
        {
            link?.Dispose();
            program?.Dispose();
            foreach (var map in maps.Values)
                map.Dispose();
        }
    }

    /// <summary>Points the <c>program</c> pin at the program the link runs, if a crash left it behind.</summary>
    private void RepinProgram()
    {
        var pin = Path.Combine(StatePath, StatePaths.Program);
        try
        {
            using var pinned = BpfProgram.OpenPinned(pin);
            if (pinned.Info.Id == _program.Info.Id)
                return;
        }
        catch (BpfException)
        {
        }
        StageAndCommit(new Dictionary<string, BpfMap>(), _program);
    }

    // ---------------------------------------------------------------- checks

    private void CheckReadable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (LayoutProblem() is { } problem)
            throw Mismatch(problem);
    }

    /// <summary>
    /// Refuses writes to a dispatcher of another version. The attached program must be what this version
    /// generates for the current bindings (compared by the kernel's tag, without loading anything), or the
    /// one this version attached last (its tag is in the meta record): then a write was interrupted between
    /// its map update and its program swap, and the swap is finished here.
    /// </summary>
    private void CheckWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_lock.Exclusive)
            throw new InvalidOperationException($"the dispatcher at {StatePath} was opened for reading: open it with write: true to change it");
        if (_writesChecked)
            return;
        if (LayoutProblem() is { } problem)
            throw Mismatch(problem);
        var meta = DispatcherMeta.Read(_maps[ControlLayout.Meta.Name])!;
        if (meta.GeneratorVersion != DispatcherShape.GeneratorVersion)
            throw Mismatch($"its program was generated by {meta.GeneratorVersion}, and this is {DispatcherShape.GeneratorVersion}");
        var shape = BindingsState().Shape();
        var matches = ProgramTag.Matches(DispatcherProgram.Generate(shape), _program.Info.Tag);
        if (!matches && !meta.Knows(_program.Info.Tag))
            throw Mismatch($"the attached program (tag {_program.Info.Tag}) is not one this version generates");
        if (meta.WriteInProgress)
            // A write was interrupted between its map updates and its program update (in place or by a swap):
            // rebuilding the maps and the program from the binding maps heals both.
            Rebuild();
        else if (!matches)
            // A program this version attached, but not the one it generates for these bindings (the meta record
            // names it, so it is not foreign): a program fresh from the binding maps replaces it.
            Swap(shape);
        else
            _attachedFingerprint = shape.Fingerprint;
        _writesChecked = true;
    }

    /// <summary>Rebuilds the binding maps, the ports map and the program from the binding maps, and swaps them in.</summary>
    private void Rebuild()
    {
        var destinations = DestinationsTable();
        var current = new Dictionary<BindingMatch, Binding>();
        foreach (var (match, id) in BindingsState().Entries)
            if (destinations.TryGet(id, out var destination))
                current[match] = new Binding(destination.Label, match.Protocol, match.Prefix, match.Port);
        ReplaceAll(current);
    }

    /// <summary>Why this version cannot read the maps, or null if it can.</summary>
    private string? LayoutProblem()
    {
        if (!_maps.TryGetValue(ControlLayout.Meta.Name, out var metaMap) || DispatcherMeta.Read(metaMap) is not { } meta)
            return "it has no version record this version can read";
        if (meta.LayoutVersion != DispatcherLayout.Version)
            return $"its maps are in layout {meta.LayoutVersion}, and this version uses layout {DispatcherLayout.Version}";
        foreach (var spec in ControlLayout.AllMaps)
        {
            if (!_maps.TryGetValue(spec.Name, out var map))
                throw Damaged(StatePath, $"map {spec.Name} is not pinned");
            try
            {
                map.CheckCompatible(spec);
            }
            catch (BpfException exception)
            {
                return exception.Message;
            }
        }
        return null;
    }

    private SteeringException Mismatch(string why) => new(SteeringError.VersionMismatch,
        $"the dispatcher in {_namespaceName} was loaded by another version of sklookup ({why}): run upgrade before changing it");

    private static SteeringException Damaged(string path, string what) => new(SteeringError.DamagedState,
        $"the state at {path} is damaged ({what}): run unload to remove it, then load again");
}
