using SkLookup.Bpf.Asm;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests;

/// <summary>Netns links: run order, link info, detach, namespace death, atomic updates, the 64-link limit, and pinning.</summary>
public sealed class NetNsLinkTests
{
    private static BpfProgram Load(string name) => BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build(name));

    [Fact]
    public void ProgramsRunInAttachOrder()
    {
        using var netns = new TestNetNs();
        using var first = Load("first");
        using var second = Load("second");
        using var third = Load("third");

        using var secondLink = NetNsLink.Attach(second, netns.Namespace);
        using var firstLink = NetNsLink.Attach(first, netns.Namespace);
        using var thirdLink = NetNsLink.Attach(third, netns.Namespace);

        Assert.Equal([second.Info.Id, first.Info.Id, third.Info.Id], netns.Namespace.QueryPrograms());
    }

    [Fact]
    public void LinkInfoDescribesTheAttachment()
    {
        using var netns = new TestNetNs();
        using var program = Load("described");
        using var link = NetNsLink.Attach(program, netns.Namespace);

        var info = link.ReadInfo();

        Assert.NotEqual(0u, info.Id);
        Assert.Equal(LinkInfo.NetNsLinkType, info.LinkType);
        Assert.Equal(program.Info.Id, info.ProgramId);
        Assert.Equal(netns.Namespace.Inode, info.NetNsInode);
        Assert.Equal(AttachType.SkLookup, info.AttachType);
        Assert.Equal(36u, (uint)info.AttachType);
    }

    [Fact]
    public void DetachLeavesTheLinkOpenButEmpty()
    {
        using var netns = new TestNetNs();
        using var program = Load("detached");
        using var link = NetNsLink.Attach(program, netns.Namespace);

        link.Detach();

        Assert.Equal(0u, link.ReadInfo().NetNsInode);
        Assert.Equal(program.Info.Id, link.ReadInfo().ProgramId);
        Assert.Empty(netns.Namespace.QueryPrograms());
    }

    [Fact]
    public void NamespaceDeathDetachesTheLink()
    {
        using var program = Load("orphan");
        NetNsLink link;
        using (var netns = new TestNetNs())
        {
            link = NetNsLink.Attach(program, netns.Namespace);
            Assert.NotEqual(0u, link.ReadInfo().NetNsInode);
        }

        using (link)
        {
            // The kernel tears a namespace down in a work queue after its last reference is gone.
            var deadline = DateTime.UtcNow + TestTiming.Scale(TimeSpan.FromSeconds(30));
            while (link.ReadInfo().NetNsInode != 0 && DateTime.UtcNow < deadline)
                Thread.Sleep(20);

            Assert.Equal(0u, link.ReadInfo().NetNsInode);
        }
    }

    [Fact]
    public void UpdateSwapsTheProgramInPlace()
    {
        using var netns = new TestNetNs();
        using var first = Load("first");
        using var second = Load("second");
        using var third = Load("third");
        using var replacement = Load("replacement");
        using var firstLink = NetNsLink.Attach(first, netns.Namespace);
        using var secondLink = NetNsLink.Attach(second, netns.Namespace);
        using var thirdLink = NetNsLink.Attach(third, netns.Namespace);

        secondLink.Update(replacement, expectedOldProgram: second);

        Assert.Equal([first.Info.Id, replacement.Info.Id, third.Info.Id], netns.Namespace.QueryPrograms());
        Assert.Equal(replacement.Info.Id, secondLink.ReadInfo().ProgramId);
        secondLink.Update(second);
        Assert.Equal([first.Info.Id, second.Info.Id, third.Info.Id], netns.Namespace.QueryPrograms());
    }

    [Fact]
    public void UpdateWithTheWrongOldProgramIsRefused()
    {
        using var netns = new TestNetNs();
        using var attached = Load("attached");
        using var other = Load("other");
        using var replacement = Load("replacement");
        using var link = NetNsLink.Attach(attached, netns.Namespace);

        var error = Assert.Throws<BpfException>(() => link.Update(replacement, expectedOldProgram: other));

        Assert.Equal(Errno.EPERM, error.Errno);
        Assert.Equal(BpfErrorReason.PermissionDenied, error.Reason);
        Assert.Contains("the attached program is not", error.Message);
        Assert.Equal([attached.Info.Id], netns.Namespace.QueryPrograms());
    }

    [Fact]
    public void ProgramOfAnotherTypeCannotBeAttached()
    {
        using var netns = new TestNetNs();
        using var filter = BpfProgram.Load(new Assembler().Mov(Register.R0, 0).Exit().Build("filter", ProgramType.SocketFilter, AttachType.None));

        var error = Assert.Throws<BpfException>(() => NetNsLink.Attach(filter, netns.Namespace));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains("only sk_lookup programs", error.Message);
        Assert.Empty(netns.Namespace.QueryPrograms());
    }

    [Fact]
    public void SixtyFifthLinkIsTooBig()
    {
        using var netns = new TestNetNs();
        using var program = Load("many");
        var links = new List<NetNsLink>();
        try
        {
            for (var i = 0; i < 64; i++)
                links.Add(NetNsLink.Attach(program, netns.Namespace));

            var error = Assert.Throws<BpfException>(() => NetNsLink.Attach(program, netns.Namespace));

            Assert.Equal(Errno.E2BIG, error.Errno);
            Assert.Equal(BpfErrorReason.TooBig, error.Reason);
            Assert.Contains("64", error.Message);
            Assert.Equal(64, netns.Namespace.QueryPrograms().Count);
        }
        finally
        {
            foreach (var link in links)
                link.Dispose();
        }
    }

    [Fact]
    public void PinnedLinkStaysAttachedAfterItsDescriptorCloses()
    {
        using var bpffs = new TestBpfFs();
        using var netns = new TestNetNs();
        using var program = Load("pinned");
        uint linkId;
        using (var link = NetNsLink.Attach(program, netns.Namespace))
        {
            link.Pin(bpffs["link"]);
            linkId = link.ReadInfo().Id;
        }

        Assert.Equal([program.Info.Id], netns.Namespace.QueryPrograms());
        using var reopened = NetNsLink.OpenPinned(bpffs["link"]);
        using var byId = NetNsLink.OpenById(linkId);
        Assert.Equal(linkId, reopened.ReadInfo().Id);
        Assert.Equal(netns.Namespace.Inode, byId.ReadInfo().NetNsInode);

        // Removing the pin and the last descriptors detaches it: at once on 6.x, a moment later on 5.10,
        // where the link is released through a work queue.
        File.Delete(bpffs["link"]);
        reopened.Dispose();
        byId.Dispose();
        var deadline = DateTime.UtcNow + TestTiming.Scale(TimeSpan.FromSeconds(10));
        while (netns.Namespace.QueryPrograms().Count > 0 && DateTime.UtcNow < deadline)
            Thread.Sleep(20);
        Assert.Empty(netns.Namespace.QueryPrograms());
    }

    [Fact]
    public void ClosingTheLastReferenceDetaches()
    {
        using var netns = new TestNetNs();
        using var program = Load("closed");
        var link = NetNsLink.Attach(program, netns.Namespace);
        Assert.Single(netns.Namespace.QueryPrograms());

        link.Dispose();

        Assert.Empty(netns.Namespace.QueryPrograms());
    }
}
