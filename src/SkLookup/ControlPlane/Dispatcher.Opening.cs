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

    /// <summary>
    /// "Not loaded", unless the kernel has a dispatcher attached in the namespace all the same (its state moved,
    /// renamed or deleted): then the state is damaged, and the one line says how to detach it. The directory's
    /// name is not the only witness of a live dispatcher.
    /// </summary>
    private static SteeringException NotLoadedOrHidden(ulong netnsInode, string path, string notLoaded)
    {
        var orphans = AttachedDispatchers(netnsInode);
        return orphans.Count == 0
            ? new SteeringException(SteeringError.NotLoaded, notLoaded)
            : Damaged(path, $"a dispatcher is attached in network namespace {netnsInode} ({string.Join(", ", orphans.Select(o => $"link {o.Id}, program {o.ProgramId}"))}) but its state is not there (moved or removed); 'sklookup unload' detaches it");
    }

    /// <summary>
    /// The sk_lookup links attached to the namespace with inode <paramref name="netnsInode"/> that run a program
    /// named <see cref="ProgramName"/>, as the kernel reports them. Empty where the caller may not list links
    /// (walking link ids needs CAP_SYS_ADMIN).
    /// </summary>
    internal static IReadOnlyList<LinkInfo> AttachedDispatchers(ulong netnsInode)
    {
        var found = new List<LinkInfo>();
        try
        {
            foreach (var id in NetNsLinks.AllIds())
            {
                try
                {
                    using var link = NetNsLink.OpenById(id);
                    var info = link.ReadInfo();
                    if (info.LinkType != LinkInfo.NetNsLinkType || info.NetNsInode != netnsInode || info.AttachType != AttachType.SkLookup)
                        continue;
                    using var program = BpfProgram.OpenById(info.ProgramId);
                    if (program.Info.Name == ProgramName)
                        found.Add(info);
                }
                catch (BpfException exception) when (exception.Reason is BpfErrorReason.NotFound or BpfErrorReason.Busy)
                {
                    // Released between the walk and the open (EAGAIN: a link of another namespace being torn down).
                }
            }
        }
        catch (BpfException exception) when (exception.Reason is BpfErrorReason.PermissionDenied)
        {
            return [];
        }
        return found;
    }

    private static Dispatcher OpenState(ulong netnsInode, string path, bool write, TimeSpan timeout)
    {
        var notLoaded = $"the dispatcher is not loaded in network namespace {netnsInode} (no state at {path}): run load first";
        StateLock? acquired;
        try
        {
            acquired = StateLock.TryAcquire(path, write, timeout);
        }
        catch (BpfException exception) when (exception.Reason == BpfErrorReason.PermissionDenied)
        {
            throw Outsider(path, exception);
        }
        var stateLock = acquired ?? throw NotLoadedOrHidden(netnsInode, path, notLoaded);
        NetNsLink? link = null;
        StateTransaction? state = null;
        try
        {
            if (!stateLock.IsCurrent)
                throw new SteeringException(SteeringError.NotLoaded, notLoaded + " (it was unloaded while this command waited)");
            var linkPath = Path.Combine(path, StatePaths.Link);
            if (!File.Exists(linkPath))
                throw Damaged(path, "the link is not pinned");
            uint? programId = null;
            try
            {
                link = NetNsLink.OpenPinned(linkPath);
            }
            catch (BpfException exception) when (exception.Reason == BpfErrorReason.PermissionDenied)
            {
                // Not root: the link pin is root's alone (StatePaths.PinMode). The program pin says what runs, and a process
                // that can open this namespace's state directory by its inode lives in the namespace, which therefore exists.
            }
            if (link is not null)
            {
                var info = link.ReadInfo();
                if (info.NetNsInode != netnsInode)
                    throw new SteeringException(SteeringError.NotLoaded,
                        $"the state at {path} belongs to a network namespace that no longer exists (its link is detached): run load to replace it");
                programId = info.ProgramId;
            }
            state = StateTransaction.Open(path, link, programId, write);
            return new Dispatcher(stateLock, netnsInode, state);
        }
        catch
        {
            // Until the transaction opened, the link is this method's to close.
            if (state is not null)
                state.Dispose();
            else
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

    private static void RemoveLocked(string bpffsPath, ulong netnsInode, TimeSpan timeout)
    {
        var path = StatePaths.ForNamespace(bpffsPath, netnsInode);
        using var stateLock = StateLock.TryAcquire(path, exclusive: true, timeout);
        if (stateLock is not null)
            StateDirectory.Retire(path, Path.Combine(StatePaths.Root(bpffsPath),
                StatePaths.TempPrefix(netnsInode) + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))));
    }

    // ---------------------------------------------------------------- interrupted writes

    /// <summary>What a crashed writer left unfinished (staged pins, or the write-in-progress mark), or null.</summary>
    private string? Interruption()
    {
        var meta = _state.Maps.ReadMeta();
        if (meta is { WriteInProgress: true })
        {
            var what = meta.Kind switch
            {
                WriteKind.Bind => "a bind",
                WriteKind.Unbind => "an unbind",
                WriteKind.Move => "a bind --replace",
                WriteKind.Apply => "an apply (or the rebuild of a recovery)",
                WriteKind.Register or WriteKind.RegisterSeveral => "a register",
                WriteKind.Unregister => "an unregister",
                WriteKind.Label => "a label set",
                _ => "a write",
            };
            return $"{what} was interrupted (the state is marked as being written, and no writer holds the lock)";
        }
        return _state.Staged switch
        {
            StagedSwap.Happened => "a program swap was interrupted after the kernel took the new program (its maps are still staged)",
            StagedSwap.NeverHappened => "a program swap was interrupted before the kernel took the new program (its maps are staged, unused)",
            StagedSwap.Unknown => "a program swap was interrupted, and this process may not open the link to tell whether the kernel took the new program",
            _ => null,
        };
    }

    /// <summary>The line that says a register of several sockets was interrupted half-way, or null.</summary>
    private string? MixedRegistrations() => _state.Maps.ReadMeta() is { RegistrationsMixed: true }
        ? "a register of several sockets (--dual-stack, or several passed sockets) was interrupted after some of them: a label may have new sockets for some families and old ones for others; run that register again"
        : null;

    private Dispatcher WithNotice(string? notice)
    {
        InterruptedWrite = notice;
        return this;
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
    /// its map update and its program swap, and <see cref="StateTransaction.Recover"/> finishes it here.
    /// </summary>
    private void CheckWritable(bool steering = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_lock.Exclusive)
            throw new InvalidOperationException($"the dispatcher at {StatePath} was opened for reading: open it with write: true to change it");
        if (steering)
            RequireSteering();
        else
            RequireRegistration();
        if (!_state.NeedsRecovery)
            return;
        if (LayoutProblem() is { } problem)
            throw Mismatch(problem);
        var meta = _state.Maps.ReadMeta()!;
        if (meta.GeneratorVersion != DispatcherShape.GeneratorVersion)
            throw Mismatch($"its program was generated by {meta.GeneratorVersion}, and this is {DispatcherShape.GeneratorVersion}");
        var shape = BindingsState().Shape();
        var runsGenerated = _state.RunsGenerated(shape);
        if (!runsGenerated && !meta.Knows(_state.Program.Info.Tag))
            throw Mismatch($"the attached program (tag {_state.Program.Info.Tag}) is not one this version generates");
        if (CanSteer)
            _state.Recover(meta, shape, runsGenerated, Rebuild);
        else
            RecoverRegistrations(meta, runsGenerated);
    }

    /// <summary>
    /// The recovery that a member of the state's group may make: finishing an interrupted register or unregister, which
    /// changed no binding and so leaves the program as it is, by collecting the destinations it left without bindings or a
    /// socket. Anything else interrupted needs a rebuild of the program, which only root may make.
    /// </summary>
    private void RecoverRegistrations(DispatcherMeta meta, bool runsGenerated)
    {
        var registrationOnly = meta.Kind is WriteKind.Register or WriteKind.RegisterSeveral or WriteKind.Unregister;
        if (!runsGenerated || (meta.WriteInProgress && !registrationOnly))
            throw new SteeringException(SteeringError.PermissionDenied,
                $"permission denied: {Interruption() ?? "the attached program is not the one for these bindings"}, and only root may repair it: run 'sklookup upgrade' as root; nothing was changed");
        if (meta.WriteInProgress)
        {
            _state.WriteInPlace(meta.Kind, () =>
            {
                foreach (var (_, id) in DestinationsTable().All.ToList())
                    CollectIfUnused(id);
            });
            if (meta.Kind == WriteKind.RegisterSeveral)
                _state.SetRegistrationsMixed(true);
        }
        _state.MarkRecovered(BindingsState().Shape().Fingerprint);
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
        if (_state.Maps.ReadMeta() is not { } meta)
            return "it has no version record this version can read";
        if (meta.LayoutVersion != DispatcherLayout.Version)
            return $"its maps are in layout {meta.LayoutVersion}, and this version uses layout {DispatcherLayout.Version}";
        foreach (var spec in ControlLayout.AllMaps)
        {
            if (_state.Maps.Find(spec) is not { } map)
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
