using System.Security.Cryptography;
using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.State;

/// <summary>
/// The crash-consistency protocol of a state directory, in one place: how the state is built, how every
/// change to it is staged and committed, and how a writer recovers from a command that died half-way. An
/// instance holds the open state (the link, the program it runs, the maps) of one locked directory.
/// </summary>
/// <remarks>
/// <para>The invariants, which hold between any two system calls, so that a command may die anywhere:</para>
/// <list type="number">
/// <item>The state appears whole or not at all: <see cref="Build"/> makes it in a temporary directory
/// (<see cref="StatePaths.TempPrefix"/>) and renames it into place; the next load or unload removes leftovers.</item>
/// <item>The binding maps are the record of every binding. Everything else the program depends on (the
/// ports map, its probe tables and prefilters, the program itself) can be rebuilt from them.</item>
/// <item>The program changes by one link update that names the program it replaces, so a lookup runs the
/// old program with the old maps or the new program with the new maps, never a mix.</item>
/// <item>Stage, then commit (<see cref="Commit"/>): new maps and the new program are pinned beside their
/// pins with <see cref="StatePaths.StagedSuffix"/>, and the meta record is written naming both the new
/// and the old program, before the link update; after it, the staged pins are renamed over the old ones,
/// the program last. So staged pins whose program the link does not run are from a swap that never
/// happened, and are deleted; staged pins whose program it runs are from one that did, and are renamed
/// into place (<see cref="RecoverStaged"/>, on every open for writing).</item>
/// <item>The attached program is always one that the meta record names. A program it does not name, and
/// that this version would not generate, is another version's: writes are refused until an upgrade.</item>
/// <item>A change made in place (one binding: its map entries, then the program's probe tables) is
/// bracketed by <see cref="DispatcherMeta.WriteInProgress"/> (<see cref="WriteInPlace"/>). A failed or
/// interrupted one leaves the mark set on purpose, and the next write rebuilds the maps and the program
/// from the binding maps (invariant 2) before anything else (<see cref="Recover"/>).</item>
/// <item>The <see cref="StatePaths.Program"/> pin names the program the link runs; a writer re-pins it
/// when a crash left it behind.</item>
/// <item>Every write of the control plane (bind, unbind, move, apply, register, unregister, label options) runs
/// marked, naming its <see cref="WriteKind"/>, and a <see cref="Commit"/> inside it keeps the mark: so a crash at
/// any step leaves either nothing changed or the mark, and the recovery (a rebuild from the binding maps) also
/// collects the destinations that have neither bindings nor a socket.</item>
/// <item>Readers never write, but <see cref="Dispatcher.Open"/> does not hand one a state that a crash left
/// marked or staged: it finishes the write first as a writer, and if it may not, the reader sees through a swap
/// that happened (<see cref="StagedSwap.Happened"/>: the staged maps are the ones the program reads) and says what
/// is left to do.</item>
/// </list>
/// </remarks>
internal sealed class StateTransaction : IDisposable
{
    private StateTransaction(string path, NetNsLink? link, BpfProgram program, DispatcherMaps maps)
    {
        Path = path;
        Link = link;
        Program = program;
        Maps = maps;
    }

    /// <summary>The state directory.</summary>
    public string Path { get; }

    /// <summary>
    /// The pinned link, or null where this process may not open it (the kernel opens a link pin only read-write,
    /// and its mode gives that to root alone): such a process may read the state, and register sockets if its group
    /// may, but not change the program.
    /// </summary>
    public NetNsLink? Link { get; }

    /// <summary>The program the link runs.</summary>
    public BpfProgram Program { get; private set; }

    /// <summary>The pinned maps.</summary>
    public DispatcherMaps Maps { get; }

    /// <summary>What a reader found staged (a writer finishes or discards staged pins when it opens).</summary>
    public StagedSwap Staged { get; private init; }

    /// <summary>The fingerprint of the shape the attached program was generated from, once a writer knows it.</summary>
    public string? AttachedFingerprint { get; private set; }

    /// <summary>
    /// True until a writer has checked the state and recovered it (<see cref="Recover"/>) or committed a
    /// program of its own, and again after a write failed half-way (invariant 6).
    /// </summary>
    public bool NeedsRecovery { get; private set; } = true;

    /// <summary>Builds the state of <paramref name="netns"/> on the side, attaches it, and renames it into place at <paramref name="path"/> (invariant 1).</summary>
    public static void Build(NetworkNamespace netns, string bpffsPath, string path, uint gid)
    {
        var tempName = StatePaths.TempPrefix(netns.Inode) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var temp = System.IO.Path.Combine(StatePaths.Root(bpffsPath), tempName);
        var maps = new Dictionary<string, BpfMap>();
        BpfProgram? program = null;
        NetNsLink? link = null;
        // Made with mkdirat, which fails if the name exists, so no one can pre-create (or plant a link as) it.
        StateDirectory.CreateNew(StatePaths.Root(bpffsPath), tempName, gid);
        try
        {
            foreach (var spec in ControlLayout.AllMaps)
            {
                var map = BpfMap.Create(spec);
                maps[spec.Name] = map;
                StateDirectory.Pin(map, System.IO.Path.Combine(temp, spec.Name));
            }
            var shape = DispatcherShape.Empty;
            program = DispatcherLoader.Load(shape, maps);
            StateDirectory.Pin(program, System.IO.Path.Combine(temp, StatePaths.Program));
            DispatcherMeta.Current(0, program.Info.Tag, program.Info.Tag, shape.Fingerprint).Write(maps[ControlLayout.Meta.Name]);
            link = NetNsLink.Attach(program, netns);
            StateDirectory.Pin(link, System.IO.Path.Combine(temp, StatePaths.Link));
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

    /// <summary>
    /// Opens the state at <paramref name="path"/>, whose <paramref name="link"/> runs the program with
    /// <paramref name="programId"/>. A writer first finishes or discards a swap that a crash left staged
    /// (invariant 4) and re-pins the program (invariant 7). On success the instance owns the link.
    /// Without the link (a process that may not open it), the program is the one its pin names: with no staged
    /// pins, that is the one the link runs (invariant 7), and with staged pins such a process may not write.
    /// </summary>
    public static StateTransaction Open(string path, NetNsLink? link, uint? programId, bool write)
    {
        var staged = StagedSwap.None;
        if (programId is not { } attached)
        {
            if (HasStaged(path))
            {
                if (write)
                    throw new SteeringException(SteeringError.PermissionDenied,
                        $"permission denied: a program swap in {path} was interrupted, and only root may finish it: run 'sklookup upgrade' as root; nothing was changed");
                staged = StagedSwap.Unknown;
            }
        }
        else if (write)
            RecoverStaged(path, attached);
        else
            staged = FindStaged(path, attached);
        BpfProgram? program = null;
        DispatcherMaps? maps = null;
        try
        {
            program = OpenProgram(path, programId);
            // A reader cannot finish a swap (it holds the lock shared), but it sees through one: the staged maps of a
            // swap that happened are the ones the attached program reads.
            maps = DispatcherMaps.OpenPinned(path, preferStaged: staged == StagedSwap.Happened);
            var state = new StateTransaction(path, link, program, maps) { Staged = staged };
            if (write && link is not null)
                state.RepinProgram();
            return state;
        }
        catch
        {
            maps?.Dispose();
            program?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The program the link runs, opened by its pin (which needs only read access to it) rather than by id (which
    /// needs CAP_SYS_ADMIN): the <see cref="StatePaths.Program"/> pin, or the staged one of a swap the kernel took;
    /// by id only when a crash left neither naming it.
    /// </summary>
    private static BpfProgram OpenProgram(string path, uint? programId)
    {
        foreach (var name in new[] { StatePaths.Program, StatePaths.Program + StatePaths.StagedSuffix })
        {
            var pin = System.IO.Path.Combine(path, name);
            if (!File.Exists(pin))
                continue;
            var program = BpfProgram.OpenPinnedReadOnly(pin);
            if (programId is null || program.Info.Id == programId)
                return program;
            program.Dispose();
        }
        if (programId is { } id)
            return BpfProgram.OpenById(id);
        throw new SteeringException(SteeringError.DamagedState,
            $"the state at {path} is damaged (the program is not pinned): run unload to remove it, then load again");
    }

    /// <summary>
    /// Recovers before the first write of this instance, and after a failed one, as <paramref name="meta"/>
    /// says: an interrupted write (invariant 6) rebuilds with <paramref name="rebuild"/>, which replaces the
    /// whole binding set from the binding maps; an attached program this version knows but would not generate
    /// for <paramref name="shape"/> (<paramref name="runsGenerated"/> false), or one another generator made,
    /// is replaced by a fresh one; otherwise the attached program is the one for <paramref name="shape"/>.
    /// </summary>
    public void Recover(DispatcherMeta meta, DispatcherShape shape, bool runsGenerated, Action rebuild)
    {
        if (meta.WriteInProgress)
        {
            rebuild();
            if (meta.Kind == WriteKind.RegisterSeveral)
                SetRegistrationsMixed(true);
        }
        else if (!runsGenerated || meta.GeneratorVersion != DispatcherShape.GeneratorVersion)
            Swap(shape);
        else
            AttachedFingerprint = shape.Fingerprint;
        NeedsRecovery = false;
    }

    /// <summary>Records that the attached program is the one for the shape with <paramref name="fingerprint"/>, checked by a process that may not swap it.</summary>
    public void MarkRecovered(string fingerprint)
    {
        AttachedFingerprint = fingerprint;
        NeedsRecovery = false;
    }

    /// <summary>True if the attached program is the one this version generates for <paramref name="shape"/> (compared by the kernel's tag, without loading anything).</summary>
    public bool RunsGenerated(DispatcherShape shape) => ProgramTag.Matches(DispatcherProgram.Generate(shape), Program.Info.Tag);

    /// <summary>
    /// Runs a change made in place (invariant 6): sets <see cref="DispatcherMeta.WriteInProgress"/>, runs
    /// <paramref name="write"/>, and clears the mark. If the write throws, the mark stays and
    /// <see cref="NeedsRecovery"/> is set, so that the next write rebuilds the program first.
    /// </summary>
    public void WriteInPlace(WriteKind kind, Action write)
    {
        MarkWriteInProgress(true, kind);
        try
        {
            write();
        }
        catch
        {
            NeedsRecovery = true;
            throw;
        }
        MarkWriteInProgress(false, kind);
    }

    /// <summary>
    /// Updates the attached program's probe tables for bindings removed and added, without a new program;
    /// false when that is not possible, and then <see cref="Swap"/> is the way.
    /// </summary>
    public bool TryUpdateInPlace(DispatcherShape shape, IEnumerable<BindingMatch> removed, IEnumerable<(BindingMatch Match, uint DestinationId)> added) =>
        DispatcherLoader.TryUpdateInPlace(Program, AttachedFingerprint ?? "", shape, removed, added);

    /// <summary>Generates the program for <paramref name="shape"/> and swaps it in over the attached one.</summary>
    public void Swap(DispatcherShape shape)
    {
        var program = DispatcherLoader.Load(shape, Maps.ByName);
        try
        {
            Commit(new Dictionary<string, BpfMap>(), program, shape.Fingerprint);
        }
        catch
        {
            program.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The one way the state changes shape (invariant 4): pins <paramref name="newMaps"/> (by name) and
    /// <paramref name="program"/> next to their pins with <see cref="StatePaths.StagedSuffix"/>, records the
    /// new program in the meta record, swaps it in with one link update (only if the attached one is still
    /// the one this instance knows), then renames the staged pins over the old ones, the program last. A
    /// crash before the update leaves staged pins that the next writer deletes; after it, staged pins that
    /// the next writer renames. Without a <paramref name="fingerprint"/>, only the pins change. The instance
    /// then owns <paramref name="newMaps"/> and <paramref name="program"/>.
    /// </summary>
    public void Commit(IReadOnlyDictionary<string, BpfMap> newMaps, BpfProgram program, string? fingerprint = null)
    {
        var staged = new List<string>();
        try
        {
            if (fingerprint is not null)
            {
                // Written before the link update, naming both programs, so that whichever one a crash leaves
                // attached is recognised as this version's by the next writer.
                // A write in progress stays marked: the swap is one step of it, and the steps after it (an unbind's map
                // delete, an apply's collection of destinations) must be redone if a crash comes before the mark is cleared.
                var current = Maps.ReadMeta();
                var metaMap = newMaps.TryGetValue(ControlLayout.Meta.Name, out var newMeta) ? newMeta : Maps.Meta;
                (DispatcherMeta.Current((current?.Generation ?? 0) + 1, program.Info.Tag, Program.Info.Tag, fingerprint) with
                {
                    WriteInProgress = current?.WriteInProgress ?? false,
                    Kind = current?.Kind ?? WriteKind.None,
                    RegistrationsMixed = current?.RegistrationsMixed ?? false,
                }).Write(metaMap);
            }
            foreach (var (name, map) in newMaps)
            {
                var pin = System.IO.Path.Combine(Path, name + StatePaths.StagedSuffix);
                StateDirectory.DeleteIfPresent(pin);
                StateDirectory.Pin(map, pin);
                staged.Add(pin);
            }
            var programPin = System.IO.Path.Combine(Path, StatePaths.Program + StatePaths.StagedSuffix);
            StateDirectory.DeleteIfPresent(programPin);
            StateDirectory.Pin(program, programPin);
            staged.Add(programPin);
            if (program.Info.Id != Program.Info.Id)
                (Link ?? throw new SteeringException(SteeringError.PermissionDenied, $"permission denied: only root may change the program of {Path}")).Update(program, Program);
        }
        catch
        {
            foreach (var pin in staged)
                StateDirectory.DeleteIfPresent(pin);
            throw;
        }
        foreach (var pin in staged)
            BpfFileSystem.Rename(pin, pin[..^StatePaths.StagedSuffix.Length]);
        if (!ReferenceEquals(program, Program))
        {
            Program.Dispose();
            Program = program;
        }
        Maps.Replace(newMaps);
        if (fingerprint is not null)
        {
            // The program this version generated, with a meta record that names it and no write in progress.
            AttachedFingerprint = fingerprint;
            NeedsRecovery = false;
        }
    }

    /// <summary>Closes the program, the maps and the link; the state stays in bpffs.</summary>
    public void Dispose()
    {
        Maps.Dispose();
        Program.Dispose();
        Link?.Dispose();
    }

    /// <summary>Sets or clears <see cref="DispatcherMeta.RegistrationsMixed"/>.</summary>
    public void SetRegistrationsMixed(bool mixed)
    {
        var meta = DispatcherMeta.Read(Maps.Meta)!;
        if (meta.RegistrationsMixed != mixed)
            (meta with { RegistrationsMixed = mixed }).Write(Maps.Meta);
    }

    /// <summary>Sets (naming <paramref name="kind"/>) or clears <see cref="DispatcherMeta.WriteInProgress"/>.</summary>
    private void MarkWriteInProgress(bool inProgress, WriteKind kind)
    {
        var meta = DispatcherMeta.Read(Maps.Meta)!;
        if (meta.WriteInProgress != inProgress || (inProgress && meta.Kind != kind))
            (meta with { WriteInProgress = inProgress, Kind = inProgress ? kind : WriteKind.None }).Write(Maps.Meta);
    }

    /// <summary>Points the <c>program</c> pin at the program the link runs, if a crash left it behind (invariant 7).</summary>
    private void RepinProgram()
    {
        var pin = System.IO.Path.Combine(Path, StatePaths.Program);
        try
        {
            using var pinned = BpfProgram.OpenPinned(pin);
            if (pinned.Info.Id == Program.Info.Id)
                return;
        }
        catch (BpfException)
        {
        }
        Commit(new Dictionary<string, BpfMap>(), Program);
    }

    /// <summary>
    /// Finishes or discards a swap that a crashed writer left half-done (invariant 4). Staged pins
    /// (<c>*-new</c>) are renamed into place if the staged program is the one the link runs (the swap
    /// happened), and deleted otherwise (it never did).
    /// </summary>
    private static StagedSwap FindStaged(string path, uint attachedProgramId)
    {
        if (!HasStaged(path))
            return StagedSwap.None;
        try
        {
            using var program = BpfProgram.OpenPinned(System.IO.Path.Combine(path, StatePaths.Program + StatePaths.StagedSuffix));
            return program.Info.Id == attachedProgramId ? StagedSwap.Happened : StagedSwap.NeverHappened;
        }
        catch (BpfException)
        {
            return StagedSwap.NeverHappened; // No staged program: the crash came before the swap.
        }
    }

    private static bool HasStaged(string path) => Directory.EnumerateFiles(path, "*" + StatePaths.StagedSuffix).Any();

    private static void RecoverStaged(string path, uint attachedProgramId)
    {
        var staged = Directory.EnumerateFiles(path, "*" + StatePaths.StagedSuffix).ToList();
        if (staged.Count == 0)
            return;
        var stagedProgram = System.IO.Path.Combine(path, StatePaths.Program + StatePaths.StagedSuffix);
        var swapped = false;
        if (File.Exists(stagedProgram))
        {
            try
            {
                using var program = BpfProgram.OpenPinned(stagedProgram);
                swapped = program.Info.Id == attachedProgramId;
            }
            catch (BpfException)
            {
            }
        }
        // The program goes last, as in a swap, so that a crash during recovery can be recovered again.
        staged.Sort((a, b) => (a == stagedProgram).CompareTo(b == stagedProgram));
        foreach (var file in staged)
        {
            if (swapped)
                BpfFileSystem.Rename(file, file[..^StatePaths.StagedSuffix.Length]);
            else
                StateDirectory.DeleteIfPresent(file);
        }
    }
}
