using SkLookup.Bpf;

namespace SkLookup.Cli;

/// <summary>The kinds of BPF object a bpffs pin can hold.</summary>
internal enum PinnedKind
{
    /// <summary>Not recognised.</summary>
    Unknown,
    /// <summary>A program.</summary>
    Program,
    /// <summary>A map.</summary>
    Map,
    /// <summary>A link.</summary>
    Link,
}

/// <summary>
/// Tells what a pin holds. <c>BPF_OBJ_GET</c> opens any kind of object, and reading a program's info from
/// a link's fd succeeds with garbage, so the kind comes from the fd's <c>/proc/self/fdinfo</c>, where the
/// kernel writes <c>prog_type</c>, <c>map_type</c> or <c>link_type</c>.
/// </summary>
internal static class PinnedObject
{
    /// <summary>The kind of object pinned at <paramref name="path"/>; throws NotFound if nothing is.</summary>
    public static PinnedKind KindOf(string path)
    {
        using var any = NetNsLink.OpenPinned(path); // Opens whatever is pinned there; only the fd is used.
        return KindOf(any.Handle);
    }

    /// <summary>The kind of object behind <paramref name="fd"/>.</summary>
    public static PinnedKind KindOf(FileDescriptor fd)
    {
        foreach (var line in File.ReadLines($"/proc/self/fdinfo/{fd.Value}"))
        {
            if (line.StartsWith("link_type:", StringComparison.Ordinal))
                return PinnedKind.Link;
            if (line.StartsWith("prog_type:", StringComparison.Ordinal))
                return PinnedKind.Program;
            if (line.StartsWith("map_type:", StringComparison.Ordinal))
                return PinnedKind.Map;
        }
        return PinnedKind.Unknown;
    }

    /// <summary>Opens the program pinned at <paramref name="path"/>, or fails with a usage error if the pin holds something else.</summary>
    public static BpfProgram OpenProgram(string path)
    {
        using var any = NetNsLink.OpenPinned(path);
        var kind = KindOf(any.Handle);
        if (kind != PinnedKind.Program)
            throw new CliException(ExitCode.Usage, $"{path} holds a {Describe(kind)}, not a program; pass the pin of an sk_lookup program");
        return BpfProgram.FromFd(any.Handle.Duplicate());
    }

    /// <summary>"link", "map", "program" or "object of unknown kind".</summary>
    public static string Describe(PinnedKind kind) => kind switch
    {
        PinnedKind.Program => "program",
        PinnedKind.Map => "map",
        PinnedKind.Link => "link",
        _ => "BPF object of unknown kind",
    };
}
