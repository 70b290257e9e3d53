using SkLookup.Bpf;
using SkLookup.TestKit;

namespace SkLookup.Tests.ControlPlane;

/// <summary>Load, open and unload of the pinned state.</summary>
public sealed class LifecycleTests
{
    private static readonly string[] ExpectedPins =
        ["link", "program", "sk_bind4", "sk_bind6", "sk_dest_opts", "sk_label_opts", "sk_labels", "sk_meta", "sk_metrics", "sk_ports", "sk_sockets"];

    [Fact]
    public void LoadPinsTheStateAndAttachesOneProgram()
    {
        using var scenario = new Scenario();
        var names = Directory.EnumerateFileSystemEntries(scenario.StatePath).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(ExpectedPins, names);
        Assert.Equal([scenario.D.Program.Id], scenario.NetNs.Namespace.QueryPrograms());
        Assert.Equal(scenario.StatePath, scenario.D.StatePath);
        Assert.Equal(["sklookup"], scenario.BpfFs.UserEntries());
    }

    /// <summary>
    /// The modes that make least privilege true: the root only root opens (0751), the state directory the group reads
    /// (0750), the link root's alone (0600, since whoever opens it may detach it), the maps a registration writes the
    /// group's to write (0660), and the rest the group's to read (0640).
    /// </summary>
    [Fact]
    public void StateFilesHaveRestrictedModes()
    {
        using var scenario = new Scenario();
        const UnixFileMode rw = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(rw | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute, File.GetUnixFileMode(Path.GetDirectoryName(scenario.StatePath)!));
        Assert.Equal(rw | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(scenario.StatePath));
        string[] groupWrites = ["sk_dest_opts", "sk_labels", "sk_meta", "sk_metrics", "sk_sockets"];
        foreach (var pin in Directory.EnumerateFiles(scenario.StatePath))
        {
            var name = Path.GetFileName(pin);
            var expected = name == "link" ? rw : groupWrites.Contains(name) ? rw | UnixFileMode.GroupRead | UnixFileMode.GroupWrite : rw | UnixFileMode.GroupRead;
            Assert.True(expected == File.GetUnixFileMode(pin), $"{name}: {File.GetUnixFileMode(pin)}, want {expected}");
        }
    }

    [Fact]
    public void SecondLoadIsANoOp()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        var programId = scenario.D.Program.Id;
        scenario.Close();
        using (var again = Dispatcher.Load(scenario.NetNs.Namespace, scenario.BpfFs.Path))
        {
            Assert.Equal(programId, again.Program.Id);
            Assert.Single(again.Bindings());
        }
        Assert.Single(scenario.NetNs.Namespace.QueryPrograms());
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(scenario.BpfFs.Path, "sklookup"), "tmp-*"));
    }

    [Fact]
    public void OpenWithoutLoadIsNotLoaded()
    {
        using var scenario = new Scenario(load: false);
        var error = Assert.Throws<SteeringException>(() => scenario.Open());
        Assert.Equal(SteeringError.NotLoaded, error.Error);
        Assert.Contains("run load", error.Message);
    }

    [Fact]
    public void UnloadRemovesEverythingAndDetaches()
    {
        using var scenario = new Scenario();
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.Close();
        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        Assert.Empty(scenario.NetNs.Namespace.QueryPrograms());
        Assert.Empty(scenario.BpfFs.UserEntries()); // sklookup/ too: the last unload leaves the bpffs as load found it.
        // Unloading again, or what was never loaded, is fine.
        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
    }

    [Fact]
    public void UnloadKeepsTheRootWhileAnotherNamespaceIsLoadedThere()
    {
        using var scenario = new Scenario();
        using var other = new TestNetNs();
        scenario.Close();
        using (Dispatcher.Load(other.Namespace, scenario.BpfFs.Path))
        {
        }

        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        Assert.Equal([other.Namespace.Inode.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            Directory.EnumerateFileSystemEntries(Path.Combine(scenario.BpfFs.Path, "sklookup")).Select(Path.GetFileName));
        Dispatcher.Unload(other.Namespace, scenario.BpfFs.Path);
        Assert.Empty(scenario.BpfFs.UserEntries());
        // And a load after the last unload makes the root again.
        using (Dispatcher.Load(other.Namespace, scenario.BpfFs.Path))
            Assert.Equal(["sklookup"], scenario.BpfFs.UserEntries());
        Dispatcher.Unload(other.Namespace, scenario.BpfFs.Path);
    }

    [Fact]
    public void UnloadCleansDamagedAndHalfBuiltState()
    {
        using var scenario = new Scenario();
        scenario.Close();
        // A pin deleted by hand, and a temporary directory with an attached link left by a crashed load.
        File.Delete(Path.Combine(scenario.StatePath, "sk_bind4"));
        File.Delete(Path.Combine(scenario.StatePath, "program"));
        var temp = Path.Combine(scenario.BpfFs.Path, "sklookup", $"tmp-{scenario.NetNs.Namespace.Inode}-deadbeef");
        Directory.CreateDirectory(temp);
        using (var program = BpfProgram.Load(new SkLookup.Bpf.Asm.Assembler().Return(SkLookup.Bpf.Asm.SkAction.Pass).Build("leftover")))
        using (var link = NetNsLink.Attach(program, scenario.NetNs.Namespace))
            link.Pin(Path.Combine(temp, "link"));
        Assert.Equal(2, scenario.NetNs.Namespace.QueryPrograms().Count);

        using (var writer = scenario.Open(write: true))
        {
            var damaged = Assert.Throws<SteeringException>(() => writer.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80")));
            Assert.Equal(SteeringError.DamagedState, damaged.Error);
        }

        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        Assert.Empty(scenario.NetNs.Namespace.QueryPrograms());
        Assert.Empty(scenario.BpfFs.UserEntries());
    }

    [Fact]
    public void UnloadWithoutLinkPinStillRemovesTheRest()
    {
        using var scenario = new Scenario();
        scenario.Close();
        // Without its pin nothing holds the link: deleting it detaches the program (the kernel frees links in a work item, so soon rather than at once).
        File.Delete(Path.Combine(scenario.StatePath, "link"));
        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        Assert.Empty(scenario.BpfFs.UserEntries());
        var deadline = DateTime.UtcNow + TestTiming.Scale(TimeSpan.FromSeconds(10));
        while (scenario.NetNs.Namespace.QueryPrograms().Count > 0 && DateTime.UtcNow < deadline)
            Thread.Sleep(10);
        Assert.Empty(scenario.NetNs.Namespace.QueryPrograms());
    }

    [Fact]
    public void LoadRemovesLeftoverTemporaryDirectories()
    {
        using var scenario = new Scenario(load: false);
        var temp = Path.Combine(scenario.BpfFs.Path, "sklookup", $"tmp-{scenario.NetNs.Namespace.Inode}-0badf00d");
        Directory.CreateDirectory(temp);
        scenario.Dispatcher = Dispatcher.Load(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        Assert.False(Directory.Exists(temp));
    }

    [Fact]
    public void PathThatIsNotBpfFsIsRefused()
    {
        using var netns = new TestNetNs();
        var directory = Directory.CreateTempSubdirectory("sklookup-not-bpffs-");
        try
        {
            var error = Assert.Throws<SteeringException>(() => Dispatcher.Load(netns.Namespace, directory.FullName));
            Assert.Equal(SteeringError.BpfFsMissing, error.Error);
            Assert.DoesNotContain('\n', error.Message);
            var missing = Assert.Throws<SteeringException>(() => Dispatcher.Open(netns.Namespace, Path.Combine(directory.FullName, "nope")));
            Assert.Equal(SteeringError.BpfFsMissing, missing.Error);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void ReaderCannotWrite()
    {
        using var scenario = new Scenario();
        scenario.Close();
        using var reader = scenario.Open();
        Assert.False(reader.IsWritable);
        Assert.Throws<InvalidOperationException>(() => reader.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80")));
        Assert.Empty(reader.Bindings());
    }
}
