using SkLookup.Bpf.Tests.Conformance.Programs;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>The kernel suite's "query lookup prog": attach, query, read link info, detach.</summary>
public sealed class QueryLookupProgTests
{
    [Theory]
    [MemberData(nameof(SuiteSources.Names), MemberType = typeof(SuiteSources))]
    public void QueryLookupProg(string source)
    {
        using var network = new SuiteNetwork();
        using var suite = new LoadedSuite(source);
        using var first = suite.Attach(SuiteProgramNames.LookupPass, network.NetNs);
        using var second = suite.Attach(SuiteProgramNames.LookupPass, network.NetNs);
        using var third = suite.Attach(SuiteProgramNames.LookupDrop, network.NetNs);
        LinkInfo[] links = [first.ReadInfo(), second.ReadInfo(), third.ReadInfo()];

        var ids = network.NetNs.Namespace.QueryPrograms();

        // Three programs, in the order they were attached; the same program attached twice counts twice.
        Assert.Equal([links[0].ProgramId, links[1].ProgramId, links[2].ProgramId], ids);
        Assert.Equal(suite.Program(SuiteProgramNames.LookupPass).Info.Id, ids[0]);
        Assert.Equal(ids[0], ids[1]);
        Assert.Equal(suite.Program(SuiteProgramNames.LookupDrop).Info.Id, ids[2]);
        foreach (var link in links)
        {
            Assert.Equal(LinkInfo.NetNsLinkType, link.LinkType);
            Assert.Equal(AttachType.SkLookup, link.AttachType);
            Assert.Equal(network.NetNs.Namespace.Inode, link.NetNsInode);
        }

        first.Detach();

        // The program id stays in the link info, but the netns inode is zeroed out.
        var detached = first.ReadInfo();
        Assert.Equal(links[0].ProgramId, detached.ProgramId);
        Assert.Equal(0u, detached.NetNsInode);
        Assert.Equal([links[1].ProgramId, links[2].ProgramId], network.NetNs.Namespace.QueryPrograms());
    }
}
