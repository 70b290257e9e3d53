using System.Text.Json;
using SkLookup.Cli.Commands;

namespace SkLookup.Cli.Tests;

/// <summary>Summaries by default and everything on request: apply's diff, bindings and status; and apply's progress line.</summary>
public sealed class SummaryTests : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("sklookup-summary-").FullName;

    public void Dispose()
    {
        _sandbox.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string WriteFile(int count, string label = "web")
    {
        var path = Path.Combine(_directory, $"{label}-{count}.json");
        var entries = Enumerable.Range(0, count).Select(i => new { label = i % 2 == 0 ? label : label + "2", protocol = "tcp", prefix = $"198.18.{i / 256}.{i % 256}", port = 80 });
        File.WriteAllText(path, JsonSerializer.Serialize(new { bindings = entries }));
        return path;
    }

    [Fact]
    public void ApplyPrintsTheCountsAndTheFirstLinesOrTheWholeDiff()
    {
        _sandbox.Run("load").AssertOk();
        var file = WriteFile(120);

        var dry = _sandbox.Run("apply", file, "--dry-run").AssertOk().Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var full = _sandbox.Run("apply", file, "--dry-run", "--diff").AssertOk().Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var json = _sandbox.Run("apply", file, "--json").AssertOk().Json();

        Assert.Equal(BindingCommands.DiffPreviewLines, dry.Count(line => line.StartsWith("+ ")));
        Assert.Contains(dry, line => line.StartsWith("... and 110 more"));
        Assert.Equal("dry run: would add 120 and remove 0 bindings", dry[^1]);
        Assert.Equal(120, full.Count(line => line.StartsWith("+ ")));
        Assert.Equal(120, json.GetProperty("addedCount").GetInt32());
        Assert.Equal(BindingCommands.DiffPreviewLines, json.GetProperty("added").GetArrayLength());
        Assert.False(json.GetProperty("complete").GetBoolean());

        var moved = _sandbox.Run("apply", WriteFile(120, "api"), "--json", "--diff").AssertOk().Json();
        Assert.Equal(120, moved.GetProperty("added").GetArrayLength());
        Assert.Equal(120, moved.GetProperty("removed").GetArrayLength());
        Assert.True(moved.GetProperty("complete").GetBoolean());
    }

    [Fact]
    public void EntriesThatConflictAreAUsageErrorNamingTheFile()
    {
        _sandbox.Run("load").AssertOk();
        var file = Path.Combine(_directory, "conflict.json");
        File.WriteAllText(file, """{"bindings": [{"label": "a", "prefix": "192.0.2.0/24"}, {"label": "b", "protocol": "udp", "prefix": "192.0.2.0/24"}]}""");

        var result = _sandbox.Run("apply", file).AssertOneLineError(2);

        Assert.Contains(file, result.Error);
        Assert.Contains("match the same traffic with different labels", result.Error);
        Assert.Equal(0, _sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("matched").GetInt32());
    }

    [Fact]
    public void BindingsAndStatusSummariseALargeSet()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("apply", WriteFile(300)).AssertOk();

        var list = _sandbox.Run("bindings").AssertOk().Output;
        var json = _sandbox.Run("bindings", "--json").AssertOk().Json();
        var all = _sandbox.Run("bindings", "--json", "--all").AssertOk().Json();
        var label = _sandbox.Run("bindings", "--label", "web2", "--all", "--json").AssertOk().Json();
        var filtered = _sandbox.Run("bindings", "tcp", "198.18.1.0/24", "80", "--json").AssertOk().Json();
        var status = _sandbox.Run("status", "--no-owners").AssertOk().Output;
        var statusJson = _sandbox.Run("status", "--no-owners", "--json").AssertOk().Json();

        Assert.Contains($"the first {BindingCommands.ListLimit} of 300 bindings", list);
        Assert.Equal(BindingCommands.ListLimit, json.GetProperty("bindings").GetArrayLength());
        Assert.Equal(300, json.GetProperty("matched").GetInt32());
        Assert.False(json.GetProperty("complete").GetBoolean());
        Assert.Equal(300, all.GetProperty("bindings").GetArrayLength());
        Assert.True(all.GetProperty("complete").GetBoolean());
        Assert.Equal(150, label.GetProperty("matched").GetInt32());
        Assert.All(label.GetProperty("bindings").EnumerateArray(), b => Assert.Equal("web2", b.GetProperty("label").GetString()));
        Assert.Equal(44, filtered.GetProperty("matched").GetInt32()); // 198.18.1.0 to 198.18.1.43
        Assert.Contains("bindings: 300 (tcp4 300) on 2 labels", status);
        Assert.Equal(300, statusJson.GetProperty("bindingCount").GetInt32());
        Assert.Equal(150, statusJson.GetProperty("destinations")[0].GetProperty("bindings").GetInt32());
    }

    [Fact]
    public void ProgressShowsOnlyOnATerminalAndOnlyAfterASecond()
    {
        using var shown = new StringWriter();
        using (var progress = new Progress(shown, "apply", enabled: true))
        {
            progress.Phase("reading bindings.json", () => "50 %");
            Thread.Sleep(Progress.Delay / 2);
            Assert.Equal("", shown.ToString()); // Quick work prints nothing.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!shown.ToString().Contains("reading bindings.json") && DateTime.UtcNow < deadline)
                Thread.Sleep(50);
        }
        using var hidden = new StringWriter();
        using (var progress = new Progress(hidden, "apply", enabled: false))
        {
            progress.Phase("reading bindings.json");
            Thread.Sleep(Progress.Delay + TimeSpan.FromMilliseconds(500));
        }

        Assert.Contains("sklookup: apply: reading bindings.json (50 %)... ", shown.ToString());
        Assert.EndsWith("\r\u001b[K", shown.ToString()); // The line is erased before the command's output.
        Assert.Equal("", hidden.ToString());
    }
}
