using System.Net;

namespace SkLookup.Cli.Tests;

/// <summary>The commands and forms tubectl users expect: register-pid with several pids or a pidfile, load-bindings, version, label set.</summary>
public sealed class TubectlShapeTests : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("sklookup-shapes-").FullName;

    public void Dispose()
    {
        _sandbox.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void RegisterPidTakesSeveralPidsOrAPidfile()
    {
        using var listener = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        var self = Environment.ProcessId;
        _sandbox.Run("load").AssertOk();

        // As "$(pidof nginx)" passes them: space-separated, the master (here init, which has no such socket) first.
        var spaced = _sandbox.Run("register-pid", $"1 {self}", "web", "tcp", "127.0.0.1", "8080", "--json").AssertOk().Json();
        var commas = _sandbox.Run("register-pid", $"{self},1", "web", "tcp", "127.0.0.1", "8080", "--json").AssertOk().Json();
        var pidfile = Path.Combine(_directory, "server.pid");
        File.WriteAllText(pidfile, $"{self}\n");
        var fromFile = _sandbox.Run("register-pid", pidfile, "web", "tcp", "127.0.0.1", "8080", "--json").AssertOk().Json();

        Assert.Equal(self, spaced.GetProperty("pid").GetInt32());
        Assert.Equal(self, commas.GetProperty("pid").GetInt32());
        Assert.Equal(self, fromFile.GetProperty("pid").GetInt32());
        Assert.Equal(spaced.GetProperty("socketCookie").GetUInt64(), fromFile.GetProperty("socketCookie").GetUInt64());
    }

    [Theory]
    [InlineData("12x")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("")]
    [InlineData("/nonexistent/server.pid")]
    public void BadPidsAreOneCleanUsageError(string pid)
    {
        _sandbox.Run("load").AssertOk();
        var result = _sandbox.Run("register-pid", pid, "web", "tcp", "127.0.0.1", "8080").AssertOneLineError(2);
        Assert.DoesNotContain("System.", result.Error);
        Assert.DoesNotContain("Int32", result.Error);
    }

    [Fact]
    public void APidfileThatHoldsNoPidIsAUsageError()
    {
        var pidfile = Path.Combine(_directory, "empty.pid");
        File.WriteAllText(pidfile, "\n");
        _sandbox.Run("load").AssertOk();
        var result = _sandbox.Run("register-pid", pidfile, "web", "tcp", "127.0.0.1", "8080").AssertOneLineError(2);
        Assert.Contains("holds no process id", result.Error);
    }

    [Fact]
    public void NoneOfSeveralPidsHoldingTheSocketIsNotFound()
    {
        _sandbox.Run("load").AssertOk();
        var result = _sandbox.Run("register-pid", $"1 {Environment.ProcessId}", "web", "tcp", "127.0.0.1", "1").AssertOneLineError(7);
        Assert.Contains("none of processes", result.Error);
    }

    [Fact]
    public void LoadBindingsIsApply()
    {
        var file = Path.Combine(_directory, "bindings.json");
        File.WriteAllText(file, """{"bindings": [{"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80}]}""");
        _sandbox.Run("load").AssertOk();

        var result = _sandbox.Run("load-bindings", file, "--json").AssertOk().Json();

        Assert.Equal(1, result.GetProperty("added").GetArrayLength());
        Assert.Single(_sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("bindings").EnumerateArray());
    }

    [Fact]
    public void VersionNamesBothVersionsAndWhetherAnUpgradeIsDue()
    {
        var before = _sandbox.Run("version", "--json").AssertOk().Json();
        _sandbox.Run("load").AssertOk();
        var after = _sandbox.Run("version", "--json").AssertOk().Json();
        var text = _sandbox.Run("version").AssertOk().Output;

        Assert.Equal(System.Text.Json.JsonValueKind.Null, before.GetProperty("loaded").ValueKind);
        Assert.Equal(Dispatcher.CurrentVersion, after.GetProperty("dispatcherVersion").GetString());
        Assert.Equal(Dispatcher.CurrentVersion, after.GetProperty("loaded").GetProperty("version").GetString());
        Assert.False(after.GetProperty("loaded").GetProperty("upgradeDue").GetBoolean());
        Assert.Contains(after.GetProperty("kernel").GetProperty("features").EnumerateArray(),
            feature => feature.GetProperty("name").GetString() == "BPF_PROG_TYPE_SK_LOOKUP" && feature.GetProperty("present").GetBoolean());
        Assert.StartsWith($"sklookup {after.GetProperty("version").GetString()} ", text);
        Assert.Contains("no upgrade due", text);
    }

    [Fact]
    public void LabelSetTurnsFallThroughOnAndOff()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();

        _sandbox.Run("label", "set", "web", "--fall-through").AssertOk();
        var on = _sandbox.Run("status", "web", "--json").AssertOk().Json();
        _sandbox.Run("label", "set", "web", "--no-fall-through").AssertOk();
        var off = _sandbox.Run("status", "web", "--json").AssertOk().Json();

        Assert.True(on.GetProperty("destinations")[0].GetProperty("fallThrough").GetBoolean());
        Assert.False(off.GetProperty("destinations")[0].GetProperty("fallThrough").GetBoolean());
        _sandbox.Run("label", "set", "web").AssertOneLineError(2);
        _sandbox.Run("label", "set", "web", "--fall-through", "--no-fall-through").AssertOneLineError(2);
        _sandbox.Run("label", "set", "bad label", "--fall-through").AssertOneLineError(2);
    }
}
