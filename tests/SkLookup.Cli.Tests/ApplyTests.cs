namespace SkLookup.Cli.Tests;

/// <summary><c>sklookup apply FILE [--dry-run]</c>: a whole set of bindings at once, and its diff.</summary>
public sealed class ApplyTests : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("sklookup-apply-").FullName;

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        _sandbox.Dispose();
    }

    private string File(string name, string json)
    {
        var path = Path.Combine(_directory, name);
        System.IO.File.WriteAllText(path, json);
        return path;
    }

    private int BindingCount() => _sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("bindings").GetArrayLength();

    [Fact]
    public void DryRunPrintsTheDiffAndChangesNothingThenApplyMakesIt()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "old", "tcp", "203.0.113.0/24", "25").AssertOk();
        var file = File("tubular.json", """
            {"bindings": [
              {"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80},
              {"label": "proxy", "prefix": "198.51.100.1"}
            ]}
            """);

        var dry = _sandbox.Run("apply", file, "--dry-run").AssertOk();
        Assert.Equal(1, BindingCount());
        var applied = _sandbox.Run("apply", file, "--json").AssertOk().Json();
        var again = _sandbox.Run("apply", file).AssertOk();

        Assert.Contains("+ web tcp 192.0.2.0/24 80", dry.Output);
        Assert.Contains("+ proxy udp 198.51.100.1/32 any", dry.Output);
        Assert.Contains("- old tcp 203.0.113.0/24 25", dry.Output);
        Assert.Contains("dry run", dry.Output);
        Assert.Equal(3, applied.GetProperty("added").GetArrayLength());
        Assert.Equal(1, applied.GetProperty("removed").GetArrayLength());
        Assert.False(applied.GetProperty("dryRun").GetBoolean());
        Assert.Contains("no change", again.Output);
        Assert.Equal(3, BindingCount());
    }

    [Fact]
    public void LabelOptionsSetFallThrough()
    {
        _sandbox.Run("load").AssertOk();
        var file = File("ours.json", """
            {"bindings": [{"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80}],
             "labels": {"web": {"fallThrough": true}}}
            """);

        _sandbox.Run("apply", file).AssertOk();
        var status = _sandbox.Run("status", "--json", "--no-owners").AssertOk().Json();

        Assert.True(status.GetProperty("destinations")[0].GetProperty("fallThrough").GetBoolean());
    }

    [Fact]
    public void AnInvalidFileIsAUsageErrorThatNamesTheEntryAndChangesNothing()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        var file = File("bad.json", """
            {"bindings": [
              {"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80},
              {"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 70000}
            ]}
            """);

        var result = _sandbox.Run("apply", file).AssertOneLineError(2);

        Assert.Contains("bindings[1]", result.Error);
        Assert.Equal(1, BindingCount());
    }

    [Fact]
    public void AMissingFileIsAUsageError() =>
        _sandbox.Run("apply", Path.Combine(_directory, "missing.json")).AssertOneLineError(2);
}
