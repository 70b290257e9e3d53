using SkLookup.Bpf;
using SkLookup.ControlPlane;
using SkLookup.Destinations;
using SkLookup.DataPlane;
using SkLookup.State;

namespace SkLookup;

/// <summary>
/// The steering state of one network namespace: its bindings, destinations and sockets, kept in pinned
/// BPF maps under <c>{bpffs}/sklookup/{netns inode}/</c> and served by a generated dispatcher program.
/// All state lives in bpffs, so any process (or none) may hold it; an instance holds the state's lock
/// from open to <see cref="Dispose"/>: exclusive for writers, shared for readers. An instance is not
/// thread-safe.
/// </summary>
public sealed partial class Dispatcher : IDisposable
{
    /// <summary>The name of the dispatcher program in the kernel, as <c>bpftool prog</c> and <see cref="ProgramInfo.Name"/> show it.</summary>
    public const string ProgramName = DispatcherProgram.Name;

    /// <summary>How long <see cref="Load(NetworkNamespace, string, TimeSpan?)"/>, <see cref="Open"/>, <see cref="Unload"/> and <see cref="Upgrade"/> wait for another command's lock by default.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(5);

    private readonly StateLock _lock;
    private readonly string _namespaceName;
    private readonly StateTransaction _state;
    private DestinationTable? _destinations;
    private BindingState? _bindings;
    private BindingSummary? _summary;
    private bool _disposed;

    private Dispatcher(StateLock stateLock, ulong netnsInode, StateTransaction state)
    {
        _lock = stateLock;
        NetworkNamespaceInode = netnsInode;
        _namespaceName = $"network namespace {netnsInode}";
        _state = state;
    }

    /// <summary>The state directory: <c>{bpffs}/sklookup/{netns inode}</c>.</summary>
    public string StatePath => _lock.Path;

    /// <summary>The inode of the namespace this dispatcher steers.</summary>
    public ulong NetworkNamespaceInode { get; }

    /// <summary>True if this instance holds the writer's lock.</summary>
    public bool IsWritable => _lock.Exclusive;

    /// <summary>The attached program, as the kernel reports it.</summary>
    public ProgramInfo Program => _state.Program.Info;

    // ---------------------------------------------------------------- lifecycle

    /// <summary>
    /// Loads the dispatcher into <paramref name="netns"/>, or opens it if it is loaded already (a second
    /// load changes nothing). The state is built in a temporary directory on the same bpffs and renamed
    /// into place, so other commands see all of it or none. Returns a writable instance.
    /// </summary>
    /// <exception cref="SteeringException">
    /// <see cref="SteeringError.BpfFsMissing"/>, <see cref="SteeringError.LockTimeout"/>,
    /// <see cref="SteeringError.DamagedState"/> (unload first), <see cref="SteeringError.PermissionDenied"/> (not root, or
    /// without CAP_NET_ADMIN and CAP_SYS_ADMIN), <see cref="SteeringError.NotFound"/> (no such group), or <see cref="SteeringError.Kernel"/>.
    /// </exception>
    public static Dispatcher Load(NetworkNamespace netns, string bpffsPath, TimeSpan? lockTimeout = null) => Load(netns, bpffsPath, lockTimeout, group: null);

    /// <inheritdoc cref="Load(NetworkNamespace, string, TimeSpan?)"/>
    /// <param name="netns">The namespace to steer.</param>
    /// <param name="bpffsPath">The bpffs mount that holds the state.</param>
    /// <param name="lockTimeout">How long to wait for another command's lock; <see cref="DefaultLockTimeout"/> if null.</param>
    /// <param name="group">
    /// The group (a name or a number) whose members may read the state and register sockets without any capability on
    /// Linux 6.5 and later (CAP_BPF before). Null: the group <c>sklookup</c> if it exists, else root's. It is set when the
    /// state is made; loading a state that exists changes nothing.
    /// </param>
    public static Dispatcher Load(NetworkNamespace netns, string bpffsPath, TimeSpan? lockTimeout, string? group) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(netns);
        CheckBpfFs(bpffsPath);
        var timeout = lockTimeout ?? DefaultLockTimeout;
        var root = StatePaths.Root(bpffsPath);
        RequireSteeringPrivileges(StatePaths.ForNamespace(bpffsPath, netns.Inode));
        var gid = ResolveGroup(group);
        using var rootLock = LockRootForLoad(root, timeout);
        foreach (var leftover in StatePaths.TempDirectories(bpffsPath, netns.Inode))
            StateDirectory.Remove(leftover);
        var path = StatePaths.ForNamespace(bpffsPath, netns.Inode);
        if (!Directory.Exists(path) && AttachedDispatchers(netns.Inode).Count > 0)
            throw NotLoadedOrHidden(netns.Inode, path, "");
        if (Directory.Exists(path))
        {
            if (!IsStale(path, netns.Inode))
                return OpenState(netns.Inode, path, write: true, timeout);
            // The link is detached: the state belongs to a namespace that died, whose inode number ours reuses.
            RemoveLocked(bpffsPath, netns.Inode, timeout);
        }
        try
        {
            StateTransaction.Build(netns, bpffsPath, path, gid);
        }
        catch
        {
            // A load refused (memlock, a missing feature, privileges) leaves the bpffs as it found it.
            StateDirectory.RemoveIfEmpty(root);
            throw;
        }
        return OpenState(netns.Inode, path, write: true, timeout);
    });

    /// <summary>Opens the dispatcher of <paramref name="netns"/>: shared for reading, or exclusive with <paramref name="write"/>.</summary>
    /// <exception cref="SteeringException">
    /// <see cref="SteeringError.NotLoaded"/> if there is no state, <see cref="SteeringError.BpfFsMissing"/>,
    /// <see cref="SteeringError.LockTimeout"/>, <see cref="SteeringError.DamagedState"/>. Writes to a dispatcher
    /// of another version fail with <see cref="SteeringError.VersionMismatch"/>.
    /// </exception>
    public static Dispatcher Open(NetworkNamespace netns, string bpffsPath, bool write = false, TimeSpan? lockTimeout = null) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(netns);
        CheckBpfFs(bpffsPath);
        var path = StatePaths.ForNamespace(bpffsPath, netns.Inode);
        var timeout = lockTimeout ?? DefaultLockTimeout;
        if (write)
            return OpenState(netns.Inode, path, write, timeout);
        var dispatcher = OpenReader(netns.Inode, path, timeout);
        if (!dispatcher._lock.Held)
            return dispatcher.WithNotice(dispatcher.WriteInProgressNotice());
        var interrupted = dispatcher.Interruption();
        if (interrupted is null)
            return dispatcher.WithNotice(dispatcher.MixedRegistrations());
        // A command died during a write. Finish it as the next writer would, so that what a reader lists is what the
        // kernel steers; a reader that may not write sees through a swap that happened, and says what is left to do.
        dispatcher.Dispose();
        string? failure = null;
        try
        {
            using var writer = OpenState(netns.Inode, path, write: true, timeout);
            writer.CheckWritable(steering: writer.CanSteer);
        }
        catch (SteeringException exception) when (exception.Error is not SteeringError.NotLoaded)
        {
            failure = exception.Message;
        }
        catch (BpfException exception)
        {
            failure = exception.Message;
        }
        dispatcher = OpenState(netns.Inode, path, write: false, timeout);
        var notice = failure is null
            ? $"{interrupted}; this command finished it, as the next write would have"
            : $"{interrupted}, and this command could not finish it ({failure}): run 'sklookup upgrade' as root to finish it" +
              (dispatcher._state.Staged == StagedSwap.Happened ? "; the bindings shown are those of the swap the kernel took" : "; until then, what is listed may differ from what the kernel steers by that one change");
        return dispatcher.WithNotice(dispatcher.MixedRegistrations() is { } mixed ? $"{notice}; {mixed}" : notice);
    });

    /// <summary>
    /// Null normally. After a command died during a write (SIGKILL, power loss), one line that says which write was
    /// interrupted and what became of it: a reader finishes it as the next writer would (so what it lists is what the
    /// kernel steers), or, if it may not, says which command finishes it.
    /// </summary>
    public string? InterruptedWrite { get; private set; }

    /// <summary>
    /// Removes the dispatcher from <paramref name="netns"/>: detaches it and unpins everything, including
    /// what a crashed command left behind (missing pins, temporary directories). Fine if nothing is loaded.
    /// </summary>
    public static void Unload(NetworkNamespace netns, string bpffsPath, TimeSpan? lockTimeout = null) => Execute(() =>
    {
        ArgumentNullException.ThrowIfNull(netns);
        CheckBpfFs(bpffsPath);
        var timeout = lockTimeout ?? DefaultLockTimeout;
        var root = StatePaths.Root(bpffsPath);
        // The privileges a load needs: whoever may unload may load again.
        RequireSteeringPrivileges(StatePaths.ForNamespace(bpffsPath, netns.Inode));
        using var rootLock = StateLock.TryAcquire(root, exclusive: true, timeout);
        if (rootLock is null)
            return; // Nothing was ever loaded on this bpffs.
        RemoveLocked(bpffsPath, netns.Inode, timeout);
        foreach (var leftover in StatePaths.TempDirectories(bpffsPath, netns.Inode))
            StateDirectory.Remove(leftover);
        // A dispatcher the kernel still runs without state here (its directory was moved away, or a load died
        // before its rename): detach it by its link, found from the kernel rather than from a name.
        foreach (var orphan in AttachedDispatchers(netns.Inode))
        {
            try
            {
                using var link = NetNsLink.OpenById(orphan.Id);
                link.Detach();
            }
            catch (BpfException exception) when (exception.Reason is BpfErrorReason.NotFound or BpfErrorReason.Busy)
            {
                // Gone already.
            }
        }
        // The last namespace's unload takes the sklookup/ directory with it, under the root lock: a load
        // that waited for that lock finds its directory gone and makes a new one (LockRootForLoad).
        StateDirectory.RemoveIfEmpty(root);
    });

    /// <summary>
    /// Creates the root (sklookup/) if needed and locks it. Load and unload serialise on it, so that two loads
    /// never build the same namespace's state twice; a lock taken on a root that an unload removed meanwhile
    /// is let go, and the new root locked instead.
    /// </summary>
    private static StateLock LockRootForLoad(string root, TimeSpan timeout)
    {
        for (var attempt = 0; ; attempt++)
        {
            StateDirectory.CreateRoot(root);
            var rootLock = StateLock.TryAcquire(root, exclusive: true, timeout);
            if (rootLock is { IsCurrent: true })
                return rootLock;
            rootLock?.Dispose();
            if (attempt == 3)
                throw new SteeringException(SteeringError.NotLoaded, $"{root} kept vanishing while loading (another command unloads at the same time): retry");
        }
    }

    /// <summary>
    /// Brings a dispatcher that another version loaded up to this version: swaps in the program this
    /// version generates for the current bindings with one link update (no packet is dropped), and if
    /// the map layout changed, builds new maps, copies every entry, and swaps them in with the program.
    /// </summary>
    public static UpgradeResult Upgrade(NetworkNamespace netns, string bpffsPath, TimeSpan? lockTimeout = null) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(netns);
        CheckBpfFs(bpffsPath);
        var path = StatePaths.ForNamespace(bpffsPath, netns.Inode);
        RequireSteeringPrivileges(path);
        using var dispatcher = OpenState(netns.Inode, path, write: true, lockTimeout ?? DefaultLockTimeout);
        var result = dispatcher.UpgradeLocked();
        // State that an older version pinned keeps its modes until now: give every pin this version's.
        StateDirectory.ApplyModes(path);
        return result;
    });

    /// <summary>Releases the lock and every handle; the state stays in bpffs.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _state.Dispose();
        _lock.Dispose();
    }

    // ---------------------------------------------------------------- bindings

    /// <summary>
    /// Sends <paramref name="binding"/>'s traffic to its label. Binding the same thing twice is fine.
    /// The map entries are written first, then the program learns of the binding: in place, in its probe
    /// table, when the program's code does not change, and otherwise by swapping in a new program. A
    /// lookup sees the binding either not at all or fully.
    /// </summary>
    /// <exception cref="SteeringException"><see cref="SteeringError.AlreadyExists"/> if another label has the same protocol, prefix and port.</exception>
    public void AddBinding(Binding binding) => Execute(() =>
    {
        ArgumentNullException.ThrowIfNull(binding);
        Label.Validate(binding.Label);
        CheckWritable();
        var destinations = DestinationsTable();
        var match = binding.Match;
        if (BindingOf(match) is { } existingId)
        {
            // The label's own destination is one lookup; naming another owner reads the labels (an error, not the common case).
            if (destinations.TryGetId(new Destination(binding.Label, binding.Family, binding.Protocol), out var own) && own == existingId)
                return;
            var owner = destinations.TryGet(existingId, out var existing) ? existing.Label : $"#{existingId}";
            if (owner == binding.Label)
                return;
            throw new SteeringException(SteeringError.AlreadyExists,
                $"{binding.Protocol.Name()} {binding.Prefix} port {PortText(binding.Port)} is bound to '{owner}' already: move it with MoveBinding (sklookup bind --replace), or unbind it first");
        }
        var summary = Summary();
        var map = _state.Maps.Bindings(binding.Family);
        if (summary.CountOf(binding.Family) >= DispatcherLayout.MaxBindings)
            throw new SteeringException(SteeringError.CapacityExceeded,
                $"cannot bind {binding}: the {binding.Family.Name()} bindings are full ({DispatcherLayout.MaxBindings}); remove some first");
        var key = BindingKey.Encode(match);
        var trafficClass = BindingState.ClassOf(match);
        // The destination is made inside the marked write: one that a crash leaves without its binding is collected by the recovery.
        _state.WriteInPlace(WriteKind.Bind, () =>
        {
            var id = destinations.GetOrCreate(new Destination(binding.Label, binding.Family, binding.Protocol));
            try
            {
                // Decided before the counts change: the summary says whether the program's code stays.
                var keepsProgram = summary.KeepsProgram(match, +1, out var familyKeys);
                map.Update(key, BitConverter.GetBytes(id));
                if (binding.Port != 0 && !summary.IsPortUsed(trafficClass, binding.Port))
                    SetPortBit(trafficClass, binding.Port, true);
                summary.Record(match, id, +1);
                _bindings?.Add(match, id);
                if (!keepsProgram || !_state.TryUpdateTables(binding.Family, familyKeys, [], [(match, id)]))
                {
                    // The code changes (or the table is full): the program is built from every binding.
                    var shape = BindingsState(summary).Shape();
                    if (!_state.TryUpdateInPlace(shape, [], [(match, id)]))
                        _state.Swap(shape);
                }
            }
            catch
            {
                // Undo the map writes. The program may have half-learned the binding, and the summary may have counted it,
                // so the write-in-progress mark stays: the next write (of this instance or the next writer) rebuilds the
                // summary and the program from the binding maps.
                ForgetCaches();
                map.Delete(key);
                CollectIfUnused(id);
                throw;
            }
        });
    });

    /// <summary>
    /// Removes <paramref name="binding"/>; false if it does not exist (or the match belongs to another label).
    /// The program stops using it before its map entry goes away.
    /// </summary>
    public bool RemoveBinding(Binding binding) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(binding);
        CheckWritable();
        var destinations = DestinationsTable();
        var match = binding.Match;
        if (BindingOf(match) is not { } id || !destinations.TryGetId(new Destination(binding.Label, binding.Family, binding.Protocol), out var own) || own != id)
            return false;
        var summary = Summary();
        var trafficClass = BindingState.ClassOf(match);
        // If this fails half-way, the write-in-progress mark stays: the next write rebuilds the program from the binding maps.
        _state.WriteInPlace(WriteKind.Unbind, () =>
        {
            try
            {
                if (!summary.KeepsProgram(match, -1, out var familyKeys) || !_state.TryUpdateTables(binding.Family, familyKeys, [match], []))
                {
                    var shape = BindingsState(summary).ShapeWith(match, null);
                    if (!_state.TryUpdateInPlace(shape, [match], []))
                        _state.Swap(shape);
                }
                _state.Maps.Bindings(binding.Family).Delete(BindingKey.Encode(match));
                summary.Record(match, id, -1);
                _bindings?.Remove(match);
                if (binding.Port != 0 && !summary.IsPortUsed(trafficClass, binding.Port))
                    SetPortBit(trafficClass, binding.Port, false);
                CollectIfUnused(id);
            }
            catch
            {
                ForgetCaches();
                throw;
            }
        });
        return true;
    });

    /// <summary>Every binding, most specific first (<see cref="BindingTable.Sort"/>).</summary>
    public IReadOnlyList<Binding> Bindings() => Translate(() =>
    {
        CheckReadable();
        var destinations = DestinationsTable();
        var entries = BindingsState().Entries;
        var result = new List<Binding>(entries.Count);
        foreach (var (match, id) in entries)
            result.Add(ToBinding(match, id, destinations));
        return (IReadOnlyList<Binding>)BindingTable.Sort(result);
    });

    /// <summary>
    /// Makes the bindings exactly <paramref name="bindings"/>, atomically: new binding and port maps are
    /// built on the side, a program that reads them is swapped in with one link update, and only then are
    /// the old maps dropped, so a lookup sees the old set or the new one, never a mix. With
    /// <paramref name="dryRun"/>, nothing changes and the diff says what would.
    /// </summary>
    /// <exception cref="SteeringException"><see cref="SteeringError.AlreadyExists"/> if two bindings of the set match the same traffic with different labels.</exception>
    public BindingsDiff ReplaceBindings(IReadOnlyCollection<Binding> bindings, bool dryRun) => ReplaceBindingsAndOptions(bindings, dryRun, optionChanges: null);

    /// <summary>
    /// <see cref="ReplaceBindings"/>, with label options changed in the same swap: the new
    /// option maps are staged with the new binding maps, so a crash leaves the old set with the old options or the new set
    /// with the new ones. A change of options alone swaps too.
    /// </summary>
    private BindingsDiff ReplaceBindingsAndOptions(IReadOnlyCollection<Binding> bindings, bool dryRun, IReadOnlyDictionary<string, DestinationFlags>? optionChanges) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(bindings);
        if (dryRun)
            CheckReadable();
        else
            CheckWritable();
        var desired = Deduplicate(bindings);
        var destinations = DestinationsTable();
        var current = new HashSet<Binding>();
        foreach (var (match, id) in BindingsState().Entries)
            current.Add(ToBinding(match, id, destinations));
        var added = new List<Binding>();
        foreach (var binding in desired.Values)
            if (!current.Remove(binding))
                added.Add(binding);
        var diff = new BindingsDiff(BindingTable.Sort(added), BindingTable.Sort([.. current]));
        if (dryRun || (diff.IsEmpty && (optionChanges is null || optionChanges.Count == 0)))
            return diff;
        ReplaceAll(desired, optionChanges);
        return diff;
    });

    // ---------------------------------------------------------------- sockets and destinations

    /// <summary>
    /// Registers <paramref name="socket"/> as the destination of <paramref name="label"/> for the socket's
    /// protocol and family; it replaces a socket registered before. A listening TCP socket or a bound,
    /// unconnected UDP socket, in the dispatcher's namespace. For a reuseport group, register one member:
    /// the kernel spreads traffic over the group. With <paramref name="dualStack"/>, an IPv6 socket without
    /// IPV6_V6ONLY serves the label's IPv4 traffic too, and the IPv4 destination's status is returned.
    /// </summary>
    /// <exception cref="SteeringException"><see cref="SteeringError.WrongSocket"/> saying which rule the socket breaks.</exception>
    public DestinationStatus RegisterSocket(string label, System.Net.Sockets.Socket socket, bool dualStack = false)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var descriptor = Translate(() => SocketHandles.Duplicate(socket));
        return RegisterSocket(label, descriptor, dualStack);
    }

    /// <inheritdoc cref="RegisterSocket(string, System.Net.Sockets.Socket, bool)"/>
    public DestinationStatus RegisterSocket(string label, FileDescriptor socket, bool dualStack = false) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(socket);
        Label.Validate(label);
        CheckWritable(steering: false);
        SocketDescription description;
        try
        {
            description = SocketDescription.Describe(socket);
        }
        catch (BpfException exception) when (exception.Reason is BpfErrorReason.WrongSocket or BpfErrorReason.BadFileDescriptor)
        {
            throw new SteeringException(SteeringError.WrongSocket, $"cannot register {socket} for '{label}': {exception.Message}", exception);
        }
        var (protocol, families) = SocketChecks.Check(description, label, dualStack, NetworkNamespaceInode);
        var first = RegisterChecked([(label, socket, description, protocol, families)])[0];
        return Status(first);
    });

    /// <summary>
    /// Checks every socket of <paramref name="sockets"/> (<see cref="SocketChecks.Check"/>) before it changes anything,
    /// then registers them all as one marked write, and returns the status of each one's first destination. One wrong
    /// socket among them registers none. The kernel cannot swap several socket entries at once: if a crash comes
    /// between two of them, the recovery says so (<see cref="DispatcherMeta.RegistrationsMixed"/>) until the next
    /// such register.
    /// </summary>
    public IReadOnlyList<DestinationStatus> RegisterSockets(string label, IReadOnlyList<FileDescriptor> sockets, bool dualStack = false) => Translate(() =>
    {
        ArgumentNullException.ThrowIfNull(sockets);
        Label.Validate(label);
        CheckWritable(steering: false);
        var checkedSockets = new List<(string, FileDescriptor, SocketDescription, Protocol, IReadOnlyList<Family>)>(sockets.Count);
        var seen = new HashSet<(Family, Protocol)>();
        foreach (var socket in sockets)
        {
            ArgumentNullException.ThrowIfNull(socket);
            SocketDescription description;
            try
            {
                description = SocketDescription.Describe(socket);
            }
            catch (BpfException exception) when (exception.Reason is BpfErrorReason.WrongSocket or BpfErrorReason.BadFileDescriptor)
            {
                throw new SteeringException(SteeringError.WrongSocket, $"cannot register {socket} for '{label}': {exception.Message}; nothing was registered", exception);
            }
            var (protocol, families) = SocketChecks.Check(description, label, dualStack, NetworkNamespaceInode);
            foreach (var family in families)
                if (!seen.Add((family, protocol)))
                    throw new SteeringException(SteeringError.WrongSocket,
                        $"two of the sockets serve '{label}' {family.Name()} {protocol.Name()}; pass one socket per family and protocol; nothing was registered");
            checkedSockets.Add((label, socket, description, protocol, families));
        }
        var ids = RegisterChecked(checkedSockets);
        var result = new List<DestinationStatus>(ids.Count);
        foreach (var id in ids)
            result.Add(Status(id));
        return (IReadOnlyList<DestinationStatus>)result;
    });

    private List<uint> RegisterChecked(IReadOnlyList<(string Label, FileDescriptor Socket, SocketDescription Description, Protocol Protocol, IReadOnlyList<Family> Families)> sockets)
    {
        var destinations = DestinationsTable();
        var socketMap = _state.Maps.Sockets;
        var firsts = new List<uint>(sockets.Count);
        var updates = sockets.Sum(socket => socket.Families.Count);
        // Destinations are made inside the marked write, so that one a crash leaves without a socket is collected by the recovery.
        _state.WriteInPlace(updates > 1 ? WriteKind.RegisterSeveral : WriteKind.Register, () =>
        {
            foreach (var (label, socket, description, protocol, families) in sockets)
            {
                for (var i = 0; i < families.Count; i++)
                {
                    var id = destinations.GetOrCreate(new Destination(label, families[i], protocol));
                    try
                    {
                        socketMap.UpdateSocket(BitConverter.GetBytes(id), socket);
                    }
                    catch (BpfException exception)
                    {
                        CollectIfUnused(id);
                        throw new SteeringException(SteeringError.WrongSocket,
                            $"the kernel refused socket {description} for '{label}' ({exception.Message})", exception);
                    }
                    if (i == 0)
                        firsts.Add(id);
                }
            }
            if (updates > 1)
                _state.SetRegistrationsMixed(false);
        });
        return firsts;
    }

    /// <summary>Removes the socket of <paramref name="label"/>'s destination for <paramref name="family"/> and <paramref name="protocol"/>; false if none was registered.</summary>
    public bool UnregisterSocket(string label, Family family, Protocol protocol) => Translate(() =>
    {
        CheckWritable(steering: false);
        if (!DestinationsTable().TryGetId(new Destination(label, family, protocol), out var id))
            return false;
        var removed = false;
        _state.WriteInPlace(WriteKind.Unregister, () =>
        {
            removed = DestinationTable.DeleteSocket(_state.Maps.Sockets, id);
            CollectIfUnused(id);
        });
        return removed;
    });

    /// <summary>
    /// Chooses what happens to <paramref name="label"/>'s traffic while it has no socket: dropped (the
    /// default, so traffic never leaks to another socket) or, with <paramref name="fallThrough"/>, passed on
    /// to the normal socket lookup. It applies to the label's destinations now and to those created later.
    /// </summary>
    public void SetFallThrough(string label, bool fallThrough) => Execute(() =>
    {
        Label.Validate(label);
        CheckWritable();
        _state.WriteInPlace(WriteKind.Label, () => DestinationsTable().SetLabelFlags(label, fallThrough ? DestinationFlags.FallThrough : DestinationFlags.None));
    });

    /// <summary>Every destination with its socket and counters, ordered by label, family and protocol.</summary>
    public IReadOnlyList<DestinationStatus> Destinations() => Translate(() =>
    {
        CheckReadable();
        var destinations = DestinationsTable();
        var result = new List<DestinationStatus>(destinations.Count);
        foreach (var (_, id) in destinations.All)
            result.Add(Status(id));
        result.Sort((a, b) => ByDestination(a.Label, a.Family, a.Protocol, b.Label, b.Family, b.Protocol));
        return (IReadOnlyList<DestinationStatus>)result;
    });

    // ---------------------------------------------------------------- internals used by Explainer and tests

    /// <summary>The label of a destination id, or null.</summary>
    internal string? LabelOf(uint id) => DestinationsTable().TryGet(id, out var destination) ? destination.Label : null;

    /// <summary>The destination id a binding's match sends traffic to.</summary>
    internal uint? DestinationIdOf(BindingMatch match) => BindingOf(match);

    /// <summary>The cookie of the socket registered at a destination id.</summary>
    internal ulong? SocketCookieOf(uint id) => _state.Maps.Sockets.LookupSocketCookie(BitConverter.GetBytes(id));

    /// <summary>The pinned map called <paramref name="name"/> (for tests that damage or inspect the state).</summary>
    internal BpfMap Map(string name) => _state.Maps.ByName[name];

    /// <summary>The pinned link (null where this process may not open it).</summary>
    internal NetNsLink? Link => _state.Link;

    // ---------------------------------------------------------------- helpers

    private BindingState BindingsState() => _bindings ??= BindingState.Read([_state.Maps.Bindings4, _state.Maps.Bindings6]);

    /// <summary>
    /// The bindings, read only from the families that <paramref name="summary"/> (exact while it is trusted) counts
    /// bindings in: a batch read walks every bucket of a hash map, about a millisecond for an empty binding map of
    /// 2^20 entries, which is most of what a single bind in the other family costs.
    /// </summary>
    private BindingState BindingsState(BindingSummary summary) => _bindings ??= BindingState.Read(
        [.. new[] { Family.IPv4, Family.IPv6 }.Where(family => summary.CountOf(family) > 0).Select(_state.Maps.Bindings)]);

    /// <summary>The destination id of <paramref name="match"/>, from one map lookup (or the bindings already read).</summary>
    private uint? BindingOf(BindingMatch match)
    {
        if (_bindings is { } bindings)
            return bindings.Entries.TryGetValue(match, out var known) ? known : null;
        var value = _state.Maps.Bindings(match.Family).Lookup(BindingKey.Encode(match));
        return value is null ? null : BitConverter.ToUInt32(value);
    }

    /// <summary>The summary if the state has a trusted one (no write in progress, <see cref="DispatcherMeta.SummaryValid"/>), else null.</summary>
    private BindingSummary? TrustedSummary()
    {
        if (_summary is not null)
            return _summary;
        if (_state.Maps.Summary is not { } map || _state.Maps.ReadMeta() is not { SummaryValid: true, WriteInProgress: false })
            return null;
        try
        {
            map.CheckCompatible(ControlLayout.Summary);
        }
        catch (BpfException)
        {
            return null;
        }
        return CurrentSummary = BindingSummary.Open(map);
    }

    /// <summary>Drops what this instance read of the bindings, after a write failed half-way: the recovery reads them again.</summary>
    private void ForgetCaches()
    {
        _bindings = null;
        CurrentSummary = null;
    }

    /// <summary>
    /// The destinations. A writer's table keeps the summary's used-id bitmap up to date whenever the summary is trusted (every
    /// destination made or removed, by a bind, an apply or a register, is recorded there), so that the next new destination
    /// takes a free id from it.
    /// </summary>
    private DestinationTable DestinationsTable() => _destinations ??= new DestinationTable(_state.Maps, refreshOnMiss: !_lock.Held)
    {
        IdAllocator = _lock.Exclusive && _state.Maps.SummaryWritable ? TrustedSummary() : null,
    };

    /// <summary>The binding summary this instance trusts; the destinations take new ids from it.</summary>
    private BindingSummary? CurrentSummary
    {
        get => _summary;
        set
        {
            _summary = value;
            if (_destinations is not null)
                _destinations.IdAllocator = value;
        }
    }

    private void SetPortBit(TrafficClass trafficClass, ushort port, bool set)
    {
        var ports = _state.Maps.Ports;
        var key = BitConverter.GetBytes((uint)port);
        var bits = BitConverter.ToUInt32(ports.Lookup(key) ?? new byte[4]);
        var updated = set ? bits | trafficClass.PortBit() : bits & ~trafficClass.PortBit();
        if (updated != bits)
            ports.Update(key, BitConverter.GetBytes(updated));
    }

    /// <summary>Removes a destination that has neither bindings nor a socket.</summary>
    private void CollectIfUnused(uint id)
    {
        if ((_summary is { } summary ? summary.IsUsed(id) : BindingsState().IsUsed(id)) || SocketCookieOf(id) is not null)
            return;
        DestinationsTable().Remove(id);
    }

    private DestinationStatus Status(uint id)
    {
        var destinations = DestinationsTable();
        destinations.TryGet(id, out var destination);
        var sums = _state.Maps.Metrics.SumPerCpu(BitConverter.GetBytes(id));
        var counters = new DestinationCounts(sums[0], sums[1], sums[2]);
        return new DestinationStatus(destination.Label, destination.Family, destination.Protocol, id, SocketCookieOf(id), counters,
            (destinations.Flags(id) & DestinationFlags.FallThrough) != 0);
    }

    private static Binding ToBinding(BindingMatch match, uint id, DestinationTable destinations) =>
        new(destinations.TryGet(id, out var destination) ? destination.Label : $"#{id}", match.Protocol, match.Prefix, match.Port);

    private static string PortText(ushort port) => port == 0 ? "any" : port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Runs a facade operation, turning kernel failures into <see cref="SteeringException"/>s.</summary>
    private static T Translate<T>(Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (BpfException exception)
        {
            throw Translated(exception);
        }
    }

    /// <inheritdoc cref="Translate"/>
    private static void Execute(Action operation)
    {
        try
        {
            operation();
        }
        catch (BpfException exception)
        {
            throw Translated(exception);
        }
    }

    private static SteeringException Translated(BpfException exception) => new(
        exception.Reason == BpfErrorReason.PermissionDenied ? SteeringError.PermissionDenied : SteeringError.Kernel, exception.Message, exception);

    /// <summary>The order in which destinations and their counts are listed: by label (bytewise), family, protocol.</summary>
    private static int ByDestination(string labelA, Family familyA, Protocol protocolA, string labelB, Family familyB, Protocol protocolB)
    {
        var byLabel = string.CompareOrdinal(labelA, labelB);
        if (byLabel != 0)
            return byLabel;
        var byFamily = familyA.CompareTo(familyB);
        return byFamily != 0 ? byFamily : protocolA.CompareTo(protocolB);
    }
}
