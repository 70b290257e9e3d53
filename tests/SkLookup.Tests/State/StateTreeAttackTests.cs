using System.Diagnostics;
using SkLookup.Bpf;
using SkLookup.State;
using SkLookup.TestKit;

namespace SkLookup.Tests.State;

/// <summary>
/// The review's attacks on the state tree, each made by an unprivileged user (uid 65534 through setpriv, in a
/// child process) on a bpffs mounted without mode= (1777), and each refused by root's commands with one line,
/// touching nothing outside the state directory.
/// </summary>
public sealed class StateTreeAttackTests : IDisposable
{
    private const string Nobody = "65534";
    private readonly TestNetNs _netns = new();
    private readonly TestBpfFs _bpffs = new();
    private readonly string _victim = Directory.CreateTempSubdirectory("sklookup-victim-").FullName;

    public StateTreeAttackTests() => File.WriteAllText(Path.Combine(_victim, "precious"), "keep me");

    public void Dispose()
    {
        try
        {
            Dispatcher.Unload(_netns.Namespace, _bpffs.Path);
        }
        catch (SteeringException)
        {
            // A test left a foreign directory that unload refuses; the bpffs unmount below clears it.
        }
        Directory.Delete(_victim, recursive: true);
        _bpffs.Dispose();
        _netns.Dispose();
    }

    private string Inode => _netns.Namespace.Inode.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static int AsNobody(params string[] args)
    {
        var start = new ProcessStartInfo("setpriv") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["--reuid", Nobody, "--regid", Nobody, "--clear-groups", "--inh-caps=-all", "--", .. args])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)));
        return process.ExitCode;
    }

    private void AssertVictimIntact() => Assert.Equal("keep me", File.ReadAllText(Path.Combine(_victim, "precious")));

    [Fact]
    public void AForeignSklookupDirectoryWithAPlantedStagingLinkIsRefusedByLoad()
    {
        // mkdir $BPFFS/sklookup; ln -s /some/dir $BPFFS/sklookup/tmp-NETNS-x: load used to empty /some/dir.
        Assert.Equal(0, AsNobody("mkdir", _bpffs["sklookup"]));
        Assert.Equal(0, AsNobody("ln", "-s", _victim, _bpffs[$"sklookup/tmp-{Inode}-x"]));

        var error = Assert.Throws<SteeringException>(() => Dispatcher.Load(_netns.Namespace, _bpffs.Path).Dispose());

        Assert.Equal(SteeringError.PermissionDenied, error.Error);
        Assert.Contains($"belongs to uid {Nobody}", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        AssertVictimIntact();
        Assert.Empty(NetNsLinks.AttachedTo(_netns.Namespace));
    }

    [Fact]
    public void AWorldWritableSklookupDirectoryIsRefused()
    {
        Directory.CreateDirectory(_bpffs["sklookup"]);
        File.SetUnixFileMode(_bpffs["sklookup"], (UnixFileMode)0x3FF); // 1777, as a careless first creator leaves it

        var error = Assert.Throws<SteeringException>(() => Dispatcher.Load(_netns.Namespace, _bpffs.Path).Dispose());

        Assert.Contains("writable by others", error.Message);
        Assert.Empty(NetNsLinks.AttachedTo(_netns.Namespace));
    }

    [Fact]
    public void ALinkInPlaceOfTheStateDirectoryIsRemovedNotFollowedByUnload()
    {
        // ln -s /other/dir $BPFFS/sklookup/NETNS: unload used to delete everything in /other/dir.
        Directory.CreateDirectory(_bpffs["sklookup"]);
        File.CreateSymbolicLink(_bpffs[$"sklookup/{Inode}"], _victim); // as if planted while sklookup/ was open to all

        Dispatcher.Unload(_netns.Namespace, _bpffs.Path);

        AssertVictimIntact();
        Assert.False(File.Exists(_bpffs[$"sklookup/{Inode}"]) || Directory.Exists(_bpffs[$"sklookup/{Inode}"]));
    }

    [Fact]
    public void APlantedStagingLinkUnderOurOwnDirectoryIsRemovedNotEmptied()
    {
        using (Dispatcher.Load(_netns.Namespace, _bpffs.Path))
        {
        }
        File.CreateSymbolicLink(_bpffs[$"sklookup/tmp-{Inode}-x"], _victim);

        using (Dispatcher.Load(_netns.Namespace, _bpffs.Path))
        {
        }

        AssertVictimIntact();
        Assert.False(File.Exists(_bpffs[$"sklookup/tmp-{Inode}-x"]));
    }

    [Fact]
    public void OurStateIsCreatedWithModesNoOneElseCanWriteTo()
    {
        using (Dispatcher.Load(_netns.Namespace, _bpffs.Path))
        {
        }

        Assert.Null(StateDirectory.Untrusted(_bpffs["sklookup"]));
        Assert.Null(StateDirectory.Untrusted(_bpffs[$"sklookup/{Inode}"]));
        // And the unprivileged user can no longer add names there.
        Assert.NotEqual(0, AsNobody("ln", "-s", _victim, _bpffs[$"sklookup/tmp-{Inode}-y"]));
    }

    [Fact]
    public void ADispatcherWhoseStateWasMovedIsFoundFromTheKernel()
    {
        // Renaming the state directory used to hide a live dispatcher: status said not loaded, load attached a
        // second one, and unload left the first attached.
        using (Dispatcher.Load(_netns.Namespace, _bpffs.Path))
        {
        }
        Directory.Move(_bpffs[$"sklookup/{Inode}"], _bpffs["sklookup/hidden"]);

        var open = Assert.Throws<SteeringException>(() => Dispatcher.Open(_netns.Namespace, _bpffs.Path).Dispose());
        var load = Assert.Throws<SteeringException>(() => Dispatcher.Load(_netns.Namespace, _bpffs.Path).Dispose());
        Dispatcher.Unload(_netns.Namespace, _bpffs.Path);

        Assert.Equal(SteeringError.DamagedState, open.Error);
        Assert.Contains("a dispatcher is attached", open.Message);
        Assert.Contains("'sklookup unload' detaches it", open.Message);
        Assert.Equal(SteeringError.DamagedState, load.Error);
        Assert.Empty(NetNsLinks.AttachedTo(_netns.Namespace));
        Directory.Delete(_bpffs["sklookup/hidden"], recursive: true);
    }
}
