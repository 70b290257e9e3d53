using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// Finds the links attached to a network namespace. <c>BPF_PROG_QUERY</c> on a namespace reports only
/// program ids, yet detaching needs the link, so this walks every link in the system
/// (<c>BPF_LINK_GET_NEXT_ID</c>, which needs CAP_SYS_ADMIN) and keeps those whose netns inode matches.
/// </summary>
public static class NetNsLinks
{
    /// <summary>The links attached to <paramref name="netns"/> for <paramref name="attachType"/>, in id order.</summary>
    public static IReadOnlyList<LinkInfo> AttachedTo(NetworkNamespace netns, AttachType attachType = AttachType.SkLookup)
    {
        var found = new List<LinkInfo>();
        foreach (var id in AllIds())
        {
            NetNsLink link;
            try
            {
                link = NetNsLink.OpenById(id);
            }
            catch (BpfException exception) when (exception.Reason == BpfErrorReason.NotFound)
            {
                continue; // Released between the walk and the open.
            }
            using (link)
            {
                var info = link.ReadInfo();
                if (info.LinkType == LinkInfo.NetNsLinkType && info.NetNsInode == netns.Inode && info.AttachType == attachType)
                    found.Add(info);
            }
        }
        return found;
    }

    /// <summary>The ids of every link in the system, in ascending order.</summary>
    public static IEnumerable<uint> AllIds()
    {
        var attr = new GetIdAttr();
        while (true)
        {
            if (BpfSyscall.TryInvoke(BpfCommand.LinkGetNextId, ref attr, out var errno) < 0)
            {
                if (errno == Errno.ENOENT)
                    yield break;
                throw Errno.ToException("list links (BPF_LINK_GET_NEXT_ID)", errno);
            }
            yield return attr.NextId;
            attr = new GetIdAttr { Id = attr.NextId };
        }
    }
}
