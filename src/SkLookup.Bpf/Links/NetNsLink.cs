using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// A link that attaches an sk_lookup program to a network namespace (<c>BPF_LINK_TYPE_NETNS</c>).
/// Closing the last reference detaches the program, so pin the link to keep it attached after the
/// process exits.
/// </summary>
public sealed class NetNsLink : IDisposable
{
    private NetNsLink(FileDescriptor fd) => Handle = fd;

    /// <summary>The link's file descriptor.</summary>
    public FileDescriptor Handle { get; }

    /// <summary>
    /// Attaches <paramref name="program"/> to <paramref name="netns"/>. Programs run in attach order;
    /// a namespace holds at most 64 (the 65th gives <see cref="BpfErrorReason.TooBig"/>).
    /// </summary>
    public static NetNsLink Attach(BpfProgram program, NetworkNamespace netns, AttachType attachType = AttachType.SkLookup)
    {
        var attr = new LinkCreateAttr { ProgFd = (uint)program.Handle.Value, TargetFd = (uint)netns.Handle.Value, AttachType = (uint)attachType };
        var fd = BpfSyscall.TryInvoke(BpfCommand.LinkCreate, ref attr, out var errno);
        if (fd >= 0)
            return new NetNsLink(new FileDescriptor((int)fd, ownsHandle: true));
        var operation = $"attach {program} to netns {netns.Inode}";
        throw errno switch
        {
            Errno.E2BIG => new BpfException($"{operation}: E2BIG: the namespace already holds the kernel's maximum of 64 sk_lookup programs", errno, BpfErrorReason.TooBig),
            Errno.EINVAL when program.Info.Type != ProgramType.SkLookup =>
                new BpfException($"{operation}: EINVAL: only sk_lookup programs (loaded with expected attach type BPF_SK_LOOKUP) attach here", errno, BpfErrorReason.InvalidArgument),
            _ => Errno.ToException(operation, errno),
        };
    }

    /// <summary>Opens the link pinned at <paramref name="path"/>.</summary>
    public static NetNsLink OpenPinned(string path) => new(BpfSyscall.OpenPinned(path, "link"));

    /// <summary>Opens a link by its kernel id.</summary>
    public static NetNsLink OpenById(uint id)
    {
        var attr = new GetIdAttr { Id = id };
        return new(BpfSyscall.InvokeForFd(BpfCommand.LinkGetFdById, ref attr, $"open link id {id}"));
    }

    /// <summary>Pins the link at <paramref name="path"/> on bpffs, so it outlives this process.</summary>
    public void Pin(string path) => BpfSyscall.Pin(Handle, path, "link");

    /// <summary>
    /// Swaps in <paramref name="newProgram"/> atomically, keeping the link's place in the run order. With
    /// <paramref name="expectedOldProgram"/>, the swap happens only if that program is the one attached
    /// (<c>BPF_F_REPLACE</c>), else it fails with <see cref="BpfErrorReason.PermissionDenied"/> (EPERM).
    /// </summary>
    public void Update(BpfProgram newProgram, BpfProgram? expectedOldProgram = null)
    {
        const uint BPF_F_REPLACE = 4;
        var attr = new LinkUpdateAttr
        {
            LinkFd = (uint)Handle.Value,
            NewProgFd = (uint)newProgram.Handle.Value,
            Flags = expectedOldProgram is null ? 0 : BPF_F_REPLACE,
            OldProgFd = expectedOldProgram is null ? 0 : (uint)expectedOldProgram.Handle.Value,
        };
        var result = BpfSyscall.TryInvoke(BpfCommand.LinkUpdate, ref attr, out var errno);
        if (result >= 0)
            return;
        if (errno == Errno.EPERM && expectedOldProgram is not null)
            throw new BpfException($"update link to {newProgram}: EPERM: the attached program is not {expectedOldProgram}", errno, BpfErrorReason.PermissionDenied);
        throw Errno.ToException($"update link to {newProgram}", errno);
    }

    /// <summary>Detaches the program (Linux 5.9+): the link stays open but reports netns inode 0.</summary>
    public void Detach()
    {
        var attr = new SingleFdAttr { Value = (uint)Handle.Value };
        BpfSyscall.Invoke(BpfCommand.LinkDetach, ref attr, "detach link");
    }

    /// <summary>Reads the link's info: its id, program id, netns inode (0 once detached) and attach type.</summary>
    public LinkInfo ReadInfo()
    {
        var info = BpfSyscall.GetInfo<BpfLinkInfo>(Handle, "read link info");
        return new LinkInfo(info.Id, info.Type, info.ProgId, info.NetnsIno, (AttachType)info.NetnsAttachType);
    }

    /// <summary>Closes this reference; the program is detached when no reference (fd or pin) is left.</summary>
    public void Dispose() => Handle.Dispose();
}

/// <summary>What the kernel reports about a link (<c>struct bpf_link_info</c>, netns member).</summary>
/// <param name="Id">The link's id.</param>
/// <param name="LinkType">The link type; 5 is BPF_LINK_TYPE_NETNS.</param>
/// <param name="ProgramId">The id of the attached program.</param>
/// <param name="NetNsInode">The inode of the namespace, or 0 after a detach or when the namespace died.</param>
/// <param name="AttachType">The attach type.</param>
public sealed record LinkInfo(uint Id, uint LinkType, uint ProgramId, uint NetNsInode, AttachType AttachType)
{
    /// <summary>BPF_LINK_TYPE_NETNS.</summary>
    public const uint NetNsLinkType = 5;
}
