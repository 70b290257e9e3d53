using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>What the kernel reports about a map (<c>struct bpf_map_info</c>).</summary>
/// <param name="Id">The kernel's id of the map.</param>
/// <param name="Name">The map's name (15 characters at most).</param>
/// <param name="Type">The map type.</param>
/// <param name="KeySize">Key size in bytes.</param>
/// <param name="ValueSize">Value size in bytes (one CPU's slot, for per-CPU maps).</param>
/// <param name="MaxEntries">The maximum number of entries.</param>
/// <param name="Flags">The creation flags, as the kernel keeps them.</param>
public sealed record MapInfo(uint Id, string Name, MapType Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags)
{
    /// <summary>
    /// The kernel memory charged to the map when this info was read, in bytes (<c>memlock</c> in
    /// /proc/self/fdinfo). Maps that allocate on demand (LPM tries, hash maps with NoPrealloc) grow with their entries.
    /// </summary>
    public long MemlockBytes { get; init; }

    internal static unsafe MapInfo Read(FileDescriptor fd)
    {
        var info = BpfSyscall.GetInfo<BpfMapInfo>(fd, "read map info");
        return new MapInfo(info.Id, BpfSyscall.ReadObjectName(info.Name), (MapType)info.Type, info.KeySize, info.ValueSize, info.MaxEntries, info.MapFlags)
        {
            MemlockBytes = TryReadMemlock(fd),
        };
    }

    // Opening a map must not fail for want of /proc: the figure is informative.
    private static long TryReadMemlock(FileDescriptor fd)
    {
        try
        {
            return ReadMemlock(fd);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>The kernel memory charged to a map (<c>memlock</c> in /proc/self/fdinfo), in bytes.</summary>
    public static long ReadMemlock(FileDescriptor fd)
    {
        foreach (var line in File.ReadLines($"/proc/self/fdinfo/{fd.Value}"))
            if (line.StartsWith("memlock:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(8).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }
}
