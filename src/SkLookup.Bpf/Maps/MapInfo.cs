using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>What the kernel reports about a map (<c>struct bpf_map_info</c>).</summary>
public sealed record MapInfo(uint Id, string Name, MapType Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags)
{
    internal static unsafe MapInfo Read(FileDescriptor fd)
    {
        var info = BpfSyscall.GetInfo<BpfMapInfo>(fd, "read map info");
        return new MapInfo(info.Id, BpfSyscall.ReadObjectName(info.Name), (MapType)info.Type, info.KeySize, info.ValueSize, info.MaxEntries, info.MapFlags);
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
