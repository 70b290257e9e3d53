namespace SkLookup.Cli.Tests;

/// <summary>Help, parse errors, global options and the error format, which every command shares.</summary>
public sealed class GeneralTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void RootHelpListsTheCommandsAndTheExitCodes()
    {
        var result = _sandbox.Run("--help").AssertOk();

        Assert.Contains("prog", result.Output);
        Assert.Contains("Exit codes:", result.Output);
        Assert.Contains("3   the dispatcher is not loaded", result.Output);
        Assert.Contains("--netns", result.Output);
        Assert.Contains("--bpffs", result.Output);
        Assert.Contains("--json", result.Output);
        Assert.Empty(result.Error);
    }

    [Theory]
    [MemberData(nameof(AllCommands))]
    public void EveryCommandHasHelp(string command)
    {
        var result = _sandbox.Run([.. command.Split(' '), "--help"]).AssertOk();

        Assert.Contains("Usage:", result.Output);
        Assert.Contains("sklookup " + command, result.Output);
        Assert.Contains("--netns", result.Output);
    }

    /// <summary>Every command the tool has, found by walking its command tree.</summary>
    public static TheoryData<string> AllCommands()
    {
        var data = new TheoryData<string>();
        void Walk(System.CommandLine.Command command, string prefix)
        {
            foreach (var sub in command.Subcommands.Where(sub => !sub.Hidden)) // Hidden ones (manpage) are for packaging.
            {
                var path = prefix.Length == 0 ? sub.Name : prefix + " " + sub.Name;
                data.Add(path);
                Walk(sub, path);
            }
        }
        Walk(CliApp.BuildRootCommand(), "");
        return data;
    }

    [Fact]
    public void AnUnknownCommandIsAOneLineUsageError()
    {
        var result = _sandbox.Run("frobnicate").AssertOneLineError(2);

        Assert.Contains("frobnicate", result.Error);
    }

    [Fact]
    public void AMissingSubcommandIsAOneLineUsageError() =>
        _sandbox.Run("prog").AssertOneLineError(2);

    [Fact]
    public void AMissingArgumentIsAOneLineUsageError()
    {
        var result = _sandbox.Run("prog", "attach").AssertOneLineError(2);

        Assert.Contains("prog attach --help", result.Error);
    }

    [Fact]
    public void ErrorsUnderJsonAreOneJsonLineOnStderr()
    {
        var result = _sandbox.Run("prog", "attach", "--json");

        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var error = result.ErrorJson().GetProperty("error");
        Assert.Equal(2, error.GetProperty("exitCode").GetInt32());
        Assert.Equal("usage", error.GetProperty("kind").GetString());
        Assert.Equal("prog attach", error.GetProperty("command").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    [Theory]
    [InlineData("/nonexistent/netns")]
    [InlineData("/etc/hostname")]
    public void ABadNetNsPathIsAOneLineUsageError(string path)
    {
        var result = Sandbox.RunRaw("prog", "list", "--netns", path, "--bpffs", _sandbox.BpfFs.Path).AssertOneLineError(2);

        Assert.Contains("--netns", result.Error);
        Assert.Contains(path, result.Error);
    }

    [Fact]
    public void VersionPrintsSomething() =>
        Assert.NotEmpty(_sandbox.Run("--version").AssertOk().Output.Trim());
}
