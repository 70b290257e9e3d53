using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SkLookup.Bpf.Features;
using SkLookup.Cli.Tests.Fuzz;
using SkLookup.TestKit;

namespace SkLookup.Cli.Tests;

/// <summary>
/// The README's table of who may do what, run as each kind of caller in a child process inside the sandbox's
/// namespace: an outsider (uid 65534, no groups), a member of the state's group (uid 65534 in gid 4242, no
/// capability from Linux 6.5 on, CAP_BPF alone before), and root with every capability dropped. Root loads with
/// <c>--group 4242</c>, so no group has to exist on the machine. Every refusal is one line, exit 6, and leaves
/// the state exactly as it was.
/// </summary>
[Trait("Category", "Privileges")]
public sealed class PrivilegeTests : IDisposable
{
    private const string Gid = "4242";
    private const string Nobody = "65534";
    private readonly Sandbox _sandbox = new();
    private readonly Socket _database;
    private readonly string _bindingsFile;

    public PrivilegeTests()
    {
        _sandbox.Run("load", "--group", Gid).AssertOk();
        _sandbox.Run("bind", "web", "tcp", "127.0.0.1/32", "8080").AssertOk();
        _sandbox.Run("bind", "db", "tcp", "127.0.0.2/32", "5432").AssertOk();
        _database = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 5432));
        _sandbox.Run("register-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), "db", "tcp", "127.0.0.2", "5432").AssertOk();
        _bindingsFile = Path.Combine(Path.GetTempPath(), $"sklookup-privilege-{Guid.NewGuid():N}.json");
        File.WriteAllText(_bindingsFile, """{"bindings": [{"label": "web", "protocol": "tcp", "prefix": "10.0.0.0/8", "port": 80}]}""");
        File.SetUnixFileMode(_bindingsFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    public void Dispose()
    {
        File.Delete(_bindingsFile);
        _database.Dispose();
        _sandbox.Dispose();
    }

    public enum Caller
    {
        Outsider,
        GroupMember,
        RootWithoutCapabilities,
    }

    /// <summary>
    /// The setpriv arguments for <paramref name="caller"/>. Before Linux 6.5 the kernel refuses every bpf() call
    /// without CAP_BPF while unprivileged BPF is disabled (Debian's default), so there a group member keeps CAP_BPF,
    /// as the README says it needs; from 6.5 on it has no capability at all.
    /// </summary>
    private static string[] As(Caller caller) => caller switch
    {
        Caller.Outsider => ["setpriv", "--reuid", Nobody, "--regid", Nobody, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"],
        Caller.GroupMember when KernelVersion.Current < new Version(6, 5) =>
            ["setpriv", "--reuid", Nobody, "--regid", Nobody, "--groups", Gid, "--inh-caps=-all,+bpf", "--ambient-caps=-all,+bpf", "--bounding-set=-all,+bpf", "--"],
        Caller.GroupMember => ["setpriv", "--reuid", Nobody, "--regid", Nobody, "--groups", Gid, "--inh-caps=-all", "--bounding-set=-all", "--"],
        _ => ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"],
    };

    /// <summary>Runs the tool as <paramref name="caller"/> in the sandbox's namespace (entered by nsenter as root, then dropped).</summary>
    private CliResult RunAs(Caller caller, params string[] args) => Sandbox.RunChild("nsenter",
        [$"--net={_sandbox.NetNsPath}", .. As(caller), "dotnet", Path.Combine(AppContext.BaseDirectory, "SkLookup.Cli.dll"), .. args, "--bpffs", _sandbox.BpfFs.Path]);

    /// <summary>What root sees, and every pin with its owner and mode: what a refused command must leave as it was.</summary>
    private string Snapshot()
    {
        var status = _sandbox.Run("status", "--json").AssertOk().Output;
        var pins = Directory.EnumerateFileSystemEntries(_sandbox.BpfFs["sklookup"], "*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(path => $"{path} {File.GetUnixFileMode(path)} {Bpf.BpfFileSystem.GroupOf(path)}");
        return status + string.Join('\n', pins);
    }

    public static TheoryData<Caller, string> Refused()
    {
        var data = new TheoryData<Caller, string>();
        string[] writes = ["load", "unload", "upgrade", "bind x tcp 10.0.0.0/8 80", "unbind web tcp 127.0.0.1/32 8080", "apply FILE", "label set web --fall-through", "explain tcp 127.0.0.1:8080"];
        foreach (var caller in Enum.GetValues<Caller>())
            foreach (var command in writes)
                data.Add(caller, command);
        foreach (var command in new[] { "status", "bindings", "unregister db ipv4 tcp", "metrics --listen 127.0.0.1:9092" })
            data.Add(Caller.Outsider, command);
        return data;
    }

    /// <summary>Counts one case for RELIABILITY.md (scripts/reliability.sh), as a failure if <paramref name="check"/> throws.</summary>
    private static async Task Trial(string property, string method, Func<Task> check)
    {
        var failed = true;
        try
        {
            await check();
            failed = false;
        }
        finally
        {
            FuzzBudget.Record("privileges", property, 1, failed ? 1 : 0, method);
        }
    }

    private static Task Trial(string property, string method, Action check) => Trial(property, method, () =>
    {
        check();
        return Task.CompletedTask;
    });

    private const string Method = "the built tool runs as a child process in the sandbox's namespace through nsenter and setpriv";

    [Theory]
    [MemberData(nameof(Refused))]
    public Task RefusalIsOneLineAndChangesNothing(Caller caller, string command) => Trial(
        $"{caller}: every command it may not run is refused with one line and exit 6, and changes nothing",
        $"{Method}; root's `status --json`, and every pin's path, mode and group, compared before and after", () => Refused(caller, command));

    private void Refused(Caller caller, string command)
    {
        var before = Snapshot();

        var result = RunAs(caller, [.. command.Replace("FILE", _bindingsFile, StringComparison.Ordinal).Split(' ')]);

        result.AssertOneLineError(6);
        if (command.StartsWith("explain", StringComparison.Ordinal))
        {
            // Listing a namespace's programs needs CAP_NET_ADMIN: the kernel's refusal, or the state's, whichever comes first.
        }
        else if (caller == Caller.Outsider && !OpensNoState(command))
            Assert.Contains($"members of group '{Gid}'", result.Error); // It may not even open the state directory.
        else
            Assert.Contains("run it as root; nothing was changed", result.Error);
        Assert.Equal(before, Snapshot());
    }

    /// <summary>Load, unload and upgrade check the caller's capabilities before they look at any state.</summary>
    private static bool OpensNoState(string command) => command is "load" or "unload" or "upgrade";

    [Theory]
    [InlineData(Caller.GroupMember)]
    [InlineData(Caller.RootWithoutCapabilities)]
    public Task ReadsStatusAndBindings(Caller caller) => Trial($"{caller}: reads status and bindings, as root sees them", Method, () =>
    {
        var status = RunAs(caller, "status").AssertOk().Output;
        var bindings = RunAs(caller, "bindings").AssertOk().Output;

        Assert.Contains("127.0.0.1/32", status);
        Assert.Contains("127.0.0.2/32", bindings);
        Assert.Equal(_sandbox.Run("bindings").AssertOk().Output, bindings);
    });

    /// <summary>The review's check: a group member with no capabilities registers a socket it made itself, on this kernel.</summary>
    [SkippableFact]
    public async Task AGroupMemberRegistersItsOwnSocket()
    {
        Skip.IfNot(File.Exists("/usr/bin/systemd-socket-activate"), "needs systemd-socket-activate (package systemd) to hand the group member a socket of its own");
        await Trial("GroupMember: registers a socket it made itself, with no capability (CAP_BPF before Linux 6.5)",
            $"{Method}; systemd-socket-activate, as the group member, makes the socket and runs `register` with it", RegisterOwnSocket);
    }

    private async Task RegisterOwnSocket()
    {
        // systemd-socket-activate (as the group member) makes the listening socket, and runs register with it once a
        // connection arrives; the address is not bound, so the connection reaches the socket by the normal lookup.
        var start = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[$"--net={_sandbox.NetNsPath}", .. As(Caller.GroupMember), "systemd-socket-activate", "--listen", "127.0.0.3:9000",
                     "dotnet", Path.Combine(AppContext.BaseDirectory, "SkLookup.Cli.dll"), "register", "fresh", "--bpffs", _sandbox.BpfFs.Path])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = new StringBuilder();
        var listening = new ManualResetEventSlim();
        process.ErrorDataReceived += (_, line) =>
        {
            lock (error)
                error.AppendLine(line.Data);
            if (line.Data?.StartsWith("Listening on", StringComparison.Ordinal) == true)
                listening.Set();
        };
        process.BeginErrorReadLine();
        try
        {
            Assert.True(listening.Wait(TestTiming.Scale(TimeSpan.FromSeconds(30))), $"systemd-socket-activate did not listen: {error}");
            using var client = _sandbox.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(new IPEndPoint(IPAddress.Parse("127.0.0.3"), 9000));
            Assert.True(process.WaitForExit(TestTiming.Scale(TimeSpan.FromMinutes(2))), $"register did not finish: {error}");
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
        process.WaitForExit();

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {error}");
        Assert.Matches(@"^registered fd 3 \(tcp4 listen 127\.0\.0\.3:9000 cookie \d+\) for 'fresh' ipv4 tcp", await output);
    }

    [Theory]
    [InlineData(Caller.GroupMember)]
    [InlineData(Caller.RootWithoutCapabilities)]
    public Task UnregistersASocket(Caller caller) => Trial($"{caller}: unregisters a socket that root registered", Method, () =>
    {
        RunAs(caller, "unregister", "db", "ipv4", "tcp").AssertOk();

        Assert.Matches(@"db\s+ipv4\s+tcp\s+\d+\s+1\s+none", _sandbox.Run("status").AssertOk().Output);
    });

    /// <summary>tubular's TUBE-95: an outsider must not be able to take the lock that writers wait for.</summary>
    [Fact]
    public Task AnOutsiderCannotTakeTheLocks() => Trial("Outsider: cannot take the lock of sklookup/ or of a state directory (tubular's TUBE-95)",
        "flock --nonblock as uid 65534 through setpriv", () =>
    {
        var state = Directory.EnumerateDirectories(_sandbox.BpfFs["sklookup"]).Single();
        foreach (var locked in new[] { _sandbox.BpfFs["sklookup"], state })
        {
            var result = Sandbox.RunChild("setpriv", [.. As(Caller.Outsider)[1..^1], "--", "flock", "--nonblock", locked, "true"]);
            Assert.True(result.ExitCode != 0, $"an outsider locked {locked}");
            Assert.Contains("Permission denied", result.Error);
        }
    });

    /// <summary>State pinned by an older version, with other modes, gets this version's from an upgrade.</summary>
    [Fact]
    public void UpgradeGivesOlderStateTheModesOfThisVersion()
    {
        var state = Directory.EnumerateDirectories(_sandbox.BpfFs["sklookup"]).Single();
        var modes = Directory.EnumerateFiles(state).ToDictionary(pin => pin, File.GetUnixFileMode);
        foreach (var pin in modes.Keys)
            File.SetUnixFileMode(pin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        _sandbox.Run("upgrade").AssertOk();

        Assert.Equal(modes, Directory.EnumerateFiles(state).ToDictionary(pin => pin, File.GetUnixFileMode));
        RunAs(Caller.GroupMember, "unregister", "db", "ipv4", "tcp").AssertOk();
    }

    [Fact]
    public Task AGroupMemberServesMetrics() => Trial("GroupMember: serves metrics", $"{Method}; one scrape over TCP in the namespace", () =>
    {
        var start = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[$"--net={_sandbox.NetNsPath}", .. As(Caller.GroupMember), "dotnet", Path.Combine(AppContext.BaseDirectory, "SkLookup.Cli.dll"),
                     "metrics", "--listen", "127.0.0.1:9091", "--bpffs", _sandbox.BpfFs.Path])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            var response = Scrape(9091, () => process.HasExited);
            Assert.True(response.StartsWith("HTTP/1.1 200 OK", StringComparison.Ordinal), response + error);
            Assert.Contains("sklookup_dispatcher_loaded 1\n", response);
            Assert.Contains("sklookup_socket_registered{label=\"db\",family=\"ipv4\",protocol=\"tcp\"} 1\n", response);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    });

    private string Scrape(int port, Func<bool> gaveUp)
    {
        var deadline = DateTime.UtcNow + TestTiming.Scale(TimeSpan.FromSeconds(60));
        while (true)
        {
            using var client = _sandbox.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                client.Connect(new IPEndPoint(IPAddress.Loopback, port));
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !gaveUp())
            {
                Thread.Sleep(100);
                continue;
            }
            client.ReceiveTimeout = (int)TestTiming.Scale(TimeSpan.FromSeconds(20)).TotalMilliseconds;
            client.Send(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: sandbox\r\n\r\n"));
            var response = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = client.Receive(buffer)) > 0)
                response.Write(buffer, 0, read);
            return Encoding.UTF8.GetString(response.ToArray());
        }
    }
}
