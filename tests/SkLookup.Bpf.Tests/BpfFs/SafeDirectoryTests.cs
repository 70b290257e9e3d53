using System.Diagnostics;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests;

/// <summary>
/// Directory-relative opens on a 1777 bpffs, attacked by an unprivileged user (uid 65534, through setpriv in a
/// child process): a symlink in place of a state directory is refused, a directory that user made is not
/// trusted, and nothing outside the directory is touched.
/// </summary>
public sealed class SafeDirectoryTests : IDisposable
{
    private const string Nobody = "65534";
    private readonly TestBpfFs _bpffs = new();
    private readonly string _victim = Directory.CreateTempSubdirectory("sklookup-victim-").FullName;

    public void Dispose()
    {
        Directory.Delete(_victim, recursive: true);
        _bpffs.Dispose();
    }

    /// <summary>Runs <paramref name="args"/> as uid and gid 65534 with no supplementary groups and no capabilities.</summary>
    private static void AsNobody(params string[] args)
    {
        var start = new ProcessStartInfo("setpriv") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["--reuid", Nobody, "--regid", Nobody, "--clear-groups", "--inh-caps=-all", "--", .. args])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', args)} as uid {Nobody}: {error}");
    }

    [Fact]
    public void TheBpfFsRootIsWorldWritableWithoutMode()
    {
        using var root = SafeDirectory.OpenRoot(_bpffs.Path);

        Assert.Equal(0x3FF, root.Owner().Mode); // 1777: why none of this may be trusted by name
    }

    [Fact]
    public void ASymlinkPlantedByAnotherUserIsNeverFollowed()
    {
        File.WriteAllText(Path.Combine(_victim, "precious"), "keep me");
        AsNobody("ln", "-s", _victim, _bpffs["sklookup"]);
        using var root = SafeDirectory.OpenRoot(_bpffs.Path);

        var error = Assert.Throws<BpfException>(() => root.TryOpenChild("sklookup"));

        Assert.Equal(BpfErrorReason.PermissionDenied, error.Reason);
        Assert.Contains("symbolic link", error.Message);
        Assert.True(File.Exists(Path.Combine(_victim, "precious")));
    }

    [Fact]
    public void ASymlinkOneLevelDownIsNeverFollowedEither()
    {
        Directory.CreateDirectory(_bpffs["sklookup"]);
        File.SetUnixFileMode(_bpffs["sklookup"], (UnixFileMode)0x3FF); // as a careless first creator would leave it
        AsNobody("ln", "-s", _victim, _bpffs["sklookup/tmp-4026531840-x"]);
        using var root = SafeDirectory.OpenRoot(_bpffs.Path);
        using var sklookup = root.TryOpenChild("sklookup")!;

        Assert.Throws<BpfException>(() => sklookup.TryOpenChild("tmp-4026531840-x"));
        Assert.NotNull(sklookup.Distrust()); // and the 1777 parent itself is refused
        Assert.Contains("writable by others", sklookup.Distrust());
    }

    [Fact]
    public void ADirectoryAnotherUserMadeIsNotTrusted()
    {
        AsNobody("mkdir", "-m", "0755", _bpffs["sklookup"]);
        using var root = SafeDirectory.OpenRoot(_bpffs.Path);
        using var sklookup = root.TryOpenChild("sklookup")!;

        var reason = sklookup.Distrust();

        Assert.NotNull(reason);
        Assert.Contains($"belongs to uid {Nobody}", reason);
    }

    [Fact]
    public void OurOwnDirectoryIsTrustedAndItsNamesAreReadThroughTheDescriptor()
    {
        using var root = SafeDirectory.OpenRoot(_bpffs.Path);
        Assert.True(root.TryCreateChild("sklookup", 0x1ED)); // 0755
        Assert.False(root.TryCreateChild("sklookup", 0x1ED));
        using var sklookup = root.TryOpenChild("sklookup")!;
        Assert.True(sklookup.TryCreateChild("state", 0x1C0)); // 0700

        Assert.Null(sklookup.Distrust());
        Assert.Equal(["state"], sklookup.Names());
        // Renaming the path away does not change what the descriptor names.
        Directory.Move(_bpffs["sklookup"], _bpffs["moved"]);
        Assert.Equal(["state"], sklookup.Names());
        Assert.True(sklookup.TryRemoveChild("state", directory: true));
        Assert.False(sklookup.TryRemoveChild("state", directory: true));
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("")]
    public void NamesAreOnePathComponent(string name)
    {
        using var root = SafeDirectory.OpenRoot(_bpffs.Path);
        Assert.ThrowsAny<ArgumentException>(() => root.TryOpenChild(name));
    }
}
