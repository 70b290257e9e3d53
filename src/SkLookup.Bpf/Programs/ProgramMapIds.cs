using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>The maps a loaded program uses, as the kernel lists them in <c>bpf_prog_info.map_ids</c>.</summary>
public static class ProgramMapIds
{
    /// <summary>The ids of the maps <paramref name="program"/> refers to.</summary>
    public static unsafe IReadOnlyList<uint> Read(BpfProgram program)
    {
        var count = BpfSyscall.GetInfo<BpfProgInfo>(program.Handle, "read program info").NrMapIds;
        if (count == 0)
            return [];
        var ids = new uint[count];
        fixed (uint* idsPointer = ids)
        {
            var info = new BpfProgInfo { NrMapIds = count, MapIds = (ulong)idsPointer };
            var attr = new ObjInfoAttr { BpfFd = (uint)program.Handle.Value, InfoLen = (uint)sizeof(BpfProgInfo), Info = (ulong)&info };
            BpfSyscall.Invoke(BpfCommand.ObjGetInfoByFd, ref attr, $"read map ids of {program}");
            return ids.AsSpan(0, (int)Math.Min(count, info.NrMapIds)).ToArray();
        }
    }

    /// <summary>Opens the map named <paramref name="name"/> among those <paramref name="program"/> uses, or null.</summary>
    public static BpfMap? OpenByName(BpfProgram program, string name)
    {
        foreach (var id in Read(program))
        {
            var map = BpfMap.OpenById(id);
            if (map.Info.Name == name)
                return map;
            map.Dispose();
        }
        return null;
    }
}
