namespace SkLookup.Cli.Tests;

/// <summary>The built tool run as a child process, the way a user runs it.</summary>
public sealed class ProcessTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void HelpAndExitCodesReachTheShell()
    {
        var help = Sandbox.RunProcessRaw("--help").AssertOk();
        var usage = _sandbox.RunProcess("prog", "detach").AssertOneLineError(2);

        Assert.Contains("Exit codes:", help.Output);
        Assert.Contains("prog detach", usage.Error);
    }

    [Fact]
    public void ProgAttachAndListInAnotherProcessSeeTheSandboxNamespace()
    {
        var id = TestPrograms.PinPassAll(_sandbox.BpfFs["prog"]);

        _sandbox.RunProcess("prog", "attach", _sandbox.BpfFs["prog"]).AssertOk();
        var list = _sandbox.RunProcess("prog", "list", "--json").AssertOk().Json();

        // The link outlived the process that made it, because it is pinned.
        Assert.Equal([id], _sandbox.NetNs.Namespace.QueryPrograms());
        Assert.Equal(id, list.GetProperty("programs")[0].GetProperty("id").GetUInt32());
    }
}
