using SkLookup.Bpf;
using SkLookup.State;

namespace SkLookup;

/// <summary>
/// Who may do what (the README's table says it for users): root changes the steering; the state's group reads it and
/// registers sockets, through pins whose modes say so; everyone else is refused before anything changes.
/// </summary>
public sealed partial class Dispatcher
{
    /// <summary>
    /// What changing the steering needs: CAP_NET_ADMIN to create SOCKMAPs and attach to a namespace, and CAP_SYS_ADMIN
    /// (which includes CAP_BPF) to load programs and to reopen a program's own tables by id for an in-place update.
    /// Checked before the first change, so that a process short of one is refused with the state as it was, rather than
    /// stopped by the kernel half-way.
    /// </summary>
    private static readonly Capability[] SteeringCapabilities = [Capability.NetAdmin, Capability.SysAdmin];

    /// <summary>
    /// Refuses, before anything changes, a load, unload, upgrade or steering write by a process without
    /// <see cref="SteeringCapabilities"/>, or without write access to <paramref name="path"/> (the nearest existing of the
    /// state directory, the <c>sklookup/</c> root and the bpffs): capabilities do not open files of another owner.
    /// </summary>
    private static void RequireSteeringPrivileges(string path)
    {
        var missing = ProcessPrivileges.Missing(SteeringCapabilities);
        if (missing.Count > 0)
            throw new SteeringException(SteeringError.PermissionDenied,
                $"permission denied: changing the steering needs {string.Join(" and ", SteeringCapabilities.Select(ProcessPrivileges.Name))}, and this process lacks {string.Join(" and ", missing.Select(ProcessPrivileges.Name))}: run it as root; nothing was changed");
        var me = ProcessPrivileges.EffectiveUserId;
        if (me == 0 || ProcessPrivileges.Has(Capability.DacOverride))
            return;
        var existing = path;
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
            existing = parent;
        using var directory = SafeDirectory.OpenRoot(existing);
        var owner = directory.Owner().Uid;
        if (owner != me)
            throw new SteeringException(SteeringError.PermissionDenied,
                $"permission denied: {existing} belongs to uid {owner}, and changing the steering needs its owner (or CAP_DAC_OVERRIDE) as well as the capabilities: run it as root; nothing was changed");
    }

    /// <summary>Refuses a steering write (bind, unbind, apply, label options) from a process that opened this state without full access.</summary>
    private void RequireSteering()
    {
        RequireSteeringPrivileges(StatePath);
        if (_state.Link is null || !_state.Maps.AllWritable)
            throw new SteeringException(SteeringError.PermissionDenied,
                $"permission denied: only the owner of {StatePath} may change the steering; members of its group ('{UnixGroup.Name(StateDirectory.GroupOf(StatePath))}') may register and unregister sockets and read the state: run it as root; nothing was changed");
    }

    /// <summary>Refuses a register or unregister from a process that may not write the socket maps.</summary>
    private void RequireRegistration()
    {
        if (!_state.Maps.RegistrationWritable)
            throw new SteeringException(SteeringError.PermissionDenied,
                $"permission denied: registering a socket needs write access to the socket maps in {StatePath}: run it as root, or as a member of group '{UnixGroup.Name(StateDirectory.GroupOf(StatePath))}'; nothing was changed");
    }

    /// <summary>True if this process opened the state with everything a steering write needs.</summary>
    private bool CanSteer => _state.Link is not null && _state.Maps.AllWritable && ProcessPrivileges.Missing(SteeringCapabilities).Count == 0;

    /// <summary>The one line for a process that may not even open the state directory at <paramref name="path"/>.</summary>
    private static SteeringException Outsider(string path, BpfException exception)
    {
        var group = UnixGroup.Name(BpfFileSystem.GroupOf(path));
        return new SteeringException(SteeringError.PermissionDenied,
            $"permission denied: {path} may be read by root and by members of group '{group}' only: run this as root, or as a member of '{group}'", exception);
    }

    /// <summary>
    /// The gid that a new state is given: <paramref name="group"/> (a name or a number), or with none the
    /// <see cref="StatePaths.DefaultGroup"/> if it exists, else root's group.
    /// </summary>
    private static uint ResolveGroup(string? group)
    {
        if (group is null)
            return UnixGroup.FindId(StatePaths.DefaultGroup) ?? 0;
        return UnixGroup.FindId(group) ?? throw new SteeringException(SteeringError.NotFound,
            $"there is no group '{TextEscape.Escape(group)}': create it ('groupadd {TextEscape.Escape(group)}') or name another; nothing was changed");
    }
}
