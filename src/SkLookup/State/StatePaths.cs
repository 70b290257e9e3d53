using System.Globalization;

namespace SkLookup.State;

/// <summary>
/// Where the state of each namespace lives in bpffs: <c>{bpffs}/sklookup/{netns inode}/</c>, holding one
/// pin per map (named as the map), the link (<c>link</c>) and the attached program (<c>program</c>).
/// </summary>
internal static class StatePaths
{
    /// <summary>The directory below the bpffs mount that holds every namespace's state.</summary>
    public const string RootName = "sklookup";

    /// <summary>The pinned link, which keeps the dispatcher attached after every process exits.</summary>
    public const string Link = "link";

    /// <summary>The pinned program: the one the link runs.</summary>
    public const string Program = "program";

    // bpffs refuses names with a dot (EPERM from bpf_lookup: dots are reserved for the kernel's own
    // files), so the staged and temporary names use '-', which no map or pin name contains.

    /// <summary>
    /// Suffix of a pin staged for a swap. It is renamed over its base name once the link runs the
    /// program that uses it; a crash in between leaves it for the next writer to finish or discard.
    /// </summary>
    public const string StagedSuffix = "-new";

    /// <summary>
    /// The group that may read the state and register sockets when a load names none: its members get what
    /// <see cref="PinMode"/> gives the group. Without such a group, the state's group is root's (gid 0).
    /// </summary>
    public const string DefaultGroup = "sklookup";

    /// <summary>
    /// The <c>sklookup/</c> root (0751): only root lists or opens it (so no one else can take its lock), and anyone
    /// may pass through it to a state directory, whose own mode decides.
    /// </summary>
    public const UnixFileMode RootMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                         UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>A state directory (0750, in the state's group): root writes it, the group reads it, others cannot open it.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                              UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupReads = OwnerOnly | UnixFileMode.GroupRead;
    private const UnixFileMode GroupWrites = GroupReads | UnixFileMode.GroupWrite;

    /// <summary>
    /// The maps that registering and unregistering a socket write: the sockets, the destinations (their ids by
    /// label, options and counters) and the meta record, whose write-in-progress mark brackets every write. The
    /// state's group may write these and nothing else.
    /// </summary>
    public static readonly IReadOnlySet<string> RegistrationMaps = new HashSet<string>(StringComparer.Ordinal)
    {
        DataPlane.DispatcherLayout.Sockets.Name, DataPlane.DispatcherLayout.Metrics.Name, DataPlane.DispatcherLayout.DestinationOptions.Name,
        ControlLayout.Labels.Name, ControlLayout.Meta.Name,
    };

    /// <summary>
    /// The mode of the pin named <paramref name="name"/> (staged or not). The kernel opens a link only read-write, and
    /// whoever may open it may detach or replace the dispatcher, so the link is root's alone (0600); the registration maps
    /// are the group's to write (0660); everything else, the program included, the group may read (0640). A reader that
    /// cannot open the link finds the attached program through the <see cref="Program"/> pin.
    /// </summary>
    public static UnixFileMode PinMode(string name)
    {
        var baseName = name.EndsWith(StagedSuffix, StringComparison.Ordinal) ? name[..^StagedSuffix.Length] : name;
        if (baseName == Link || baseName.StartsWith(Link + ".", StringComparison.Ordinal))
            return OwnerOnly;
        return RegistrationMaps.Contains(baseName) ? GroupWrites : GroupReads;
    }

    /// <summary><c>{bpffs}/sklookup</c>.</summary>
    public static string Root(string bpffsPath) => Path.Combine(bpffsPath, RootName);

    /// <summary>The state directory of the namespace with inode <paramref name="netnsInode"/>.</summary>
    public static string ForNamespace(string bpffsPath, ulong netnsInode) =>
        Path.Combine(Root(bpffsPath), netnsInode.ToString(CultureInfo.InvariantCulture));

    /// <summary>The prefix of the temporary directories in which a load for this namespace builds its state.</summary>
    public static string TempPrefix(ulong netnsInode) => $"tmp-{netnsInode.ToString(CultureInfo.InvariantCulture)}-";

    /// <summary>Leftover temporary directories of failed or interrupted loads for this namespace.</summary>
    public static IEnumerable<string> TempDirectories(string bpffsPath, ulong netnsInode)
    {
        var root = Root(bpffsPath);
        return Directory.Exists(root)
            ? Directory.EnumerateDirectories(root, TempPrefix(netnsInode) + "*")
            : [];
    }
}
