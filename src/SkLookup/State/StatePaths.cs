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

    /// <summary>Directories (0750) and pins (0640): root and its group may read the state; only root writes it.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                              UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    /// <inheritdoc cref="DirectoryMode"/>
    public const UnixFileMode PinMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

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
