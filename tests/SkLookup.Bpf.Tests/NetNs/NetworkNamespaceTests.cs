using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests;

/// <summary>Opening namespaces by path and by pid, and running code inside one.</summary>
public sealed class NetworkNamespaceTests
{
    [Fact]
    public void OpenByPathFindsTheSameNamespace()
    {
        using var netns = new TestNetNs();

        using var reopened = NetworkNamespace.Open($"/proc/self/fd/{netns.Namespace.Handle.Value}");

        Assert.Equal(netns.Namespace.Inode, reopened.Inode);
    }

    [Fact]
    public void OpenByPidFindsTheNamespaceOfAProcess()
    {
        using var netns = new TestNetNs();
        // A process started from a thread inside the namespace lives in it.
        using var child = netns.Run(() => Process.Start(new ProcessStartInfo("sleep", "60") { RedirectStandardInput = true })!);
        try
        {
            using var opened = NetworkNamespace.OpenByPid(child.Id);

            Assert.Equal(netns.Namespace.Inode, opened.Inode);
            Assert.Equal($"/proc/{child.Id}/ns/net", opened.Path);
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
        }
    }

    [Fact]
    public void OwnProcessIsInTheCurrentNamespace()
    {
        using var current = NetworkNamespace.Current();

        using var byPid = NetworkNamespace.OpenByPid(Environment.ProcessId);

        Assert.Equal(current.Inode, byPid.Inode);
        Assert.True(current.IsCurrent);
    }

    [Fact]
    public void RunExecutesInsideTheNamespace()
    {
        using var netns = new TestNetNs();
        using var program = BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build("inside"));
        using var link = NetNsLink.Attach(program, netns.Namespace);

        var (inode, programs, isCurrent) = netns.Run(() =>
        {
            using var current = NetworkNamespace.Current();
            return (current.Inode, current.QueryPrograms(), netns.Namespace.IsCurrent);
        });

        Assert.Equal(netns.Namespace.Inode, inode);
        Assert.Equal([program.Info.Id], programs);
        Assert.True(isCurrent);
        Assert.False(netns.Namespace.IsCurrent);
    }

    [Fact]
    public void RunPassesExceptionsBack()
    {
        using var netns = new TestNetNs();

        var error = Assert.Throws<InvalidOperationException>(() => netns.Run(() => throw new InvalidOperationException("from inside")));

        Assert.Equal("from inside", error.Message);
    }

    [Theory]
    [InlineData("/proc/self/ns/mnt", "another kind of namespace")]
    [InlineData("/proc/self/status", "is not a network namespace")]
    public void OpeningSomethingElseIsRefused(string path, string expected)
    {
        var error = Assert.Throws<BpfException>(() => NetworkNamespace.Open(path));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains(expected, error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void OpeningAMissingPathIsNotFound()
    {
        var error = Assert.Throws<BpfException>(() => NetworkNamespace.Open("/var/run/netns/sklookup-does-not-exist"));

        Assert.Equal(BpfErrorReason.NotFound, error.Reason);
    }
}
