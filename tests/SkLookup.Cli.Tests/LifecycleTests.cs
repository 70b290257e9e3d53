using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Cli.Tests;

/// <summary>upgrade and version mismatches, and register with systemd socket activation (a child process).</summary>
public sealed class LifecycleTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void AForeignProgramInTheLinkIsAVersionMismatchUntilUpgrade()
    {
        var statePath = _sandbox.Run("load", "--json").AssertOk().Json().GetProperty("statePath").GetString()!;
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        // Another tool swapped its own program in through sklookup's link.
        using (var link = NetNsLink.OpenPinned(Path.Combine(statePath, "link")))
        using (var foreign = BpfProgram.Load(new Assembler().Return(SkAction.Drop).Build("foreign")))
            link.Update(foreign);

        var refused = _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "443").AssertOneLineError(4);
        var upgrade = _sandbox.Run("upgrade", "--json").AssertOk().Json();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "443").AssertOk();
        var current = _sandbox.Run("upgrade").AssertOk();

        Assert.Contains("upgrade", refused.Error);
        Assert.False(upgrade.GetProperty("wasCurrent").GetBoolean());
        Assert.Contains("current already", current.Output);
        Assert.Equal(2, _sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("bindings").GetArrayLength());
    }

    [Fact]
    public void UpgradeBeforeLoadIsNotLoaded() =>
        _sandbox.Run("upgrade").AssertOneLineError(3);

    [Fact]
    public void RegisterWithoutSocketActivationIsAUsageError()
    {
        _sandbox.Run("load").AssertOk();

        var result = _sandbox.Run("register", "web").AssertOneLineError(2);

        Assert.Contains("LISTEN_FDS", result.Error);
    }

    [Fact]
    public void RegisterTakesTheSocketsThatSystemdWouldPass()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();

        // What systemd does for a .socket unit, in the sandbox's namespace: open the sockets, place them at
        // fds 3 and 4, set LISTEN_PID to the pid that the service will have, and exec it.
        var script = $$"""
            import os, socket
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.bind(("127.0.0.1", 8080)); tcp.listen()
            udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            udp.bind(("::1", 8053))
            os.dup2(tcp.fileno(), 100); os.dup2(udp.fileno(), 101)
            os.dup2(100, 3); os.dup2(101, 4)
            os.set_inheritable(3, True); os.set_inheritable(4, True)
            env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS="2", LISTEN_FDNAMES="web-tcp:web-udp")
            os.execvpe("dotnet", ["dotnet", "{{Path.Combine(AppContext.BaseDirectory, "SkLookup.Cli.dll")}}", "register", "web", "--json",
                "--netns", "{{_sandbox.NetNsPath}}", "--bpffs", "{{_sandbox.BpfFs.Path}}"], env)
            """;
        var result = Sandbox.RunChild("nsenter", ["--net=" + _sandbox.NetNsPath, "python3", "-c", script]).AssertOk();

        var registered = result.Json().GetProperty("registered");
        Assert.Equal(2, registered.GetArrayLength());
        Assert.Equal("ipv4", registered[0].GetProperty("family").GetString());
        Assert.Equal("tcp", registered[0].GetProperty("protocol").GetString());
        Assert.Equal(3, registered[0].GetProperty("fd").GetInt32());
        Assert.Equal("ipv6", registered[1].GetProperty("family").GetString());
        Assert.Equal("udp", registered[1].GetProperty("protocol").GetString());
        Assert.Equal(4, registered[1].GetProperty("fd").GetInt32());
    }
}
