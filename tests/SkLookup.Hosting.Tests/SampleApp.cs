using System.Diagnostics;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>
/// A sample app run as a child process inside a test namespace (through nsenter), with its output
/// collected line by line. Disposing it kills the process if it still runs.
/// </summary>
internal sealed partial class SampleApp : IDisposable
{
    /// <summary>How long a sample may take to start, or to stop, on a busy machine (stretched under TCG in the kernel matrix).</summary>
    public static readonly TimeSpan StartTimeout = TestTiming.Scale(TimeSpan.FromSeconds(60));

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly SemaphoreSlim _lineAdded = new(0);

    private SampleApp(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, line) => Add(line.Data, "");
        _process.ErrorDataReceived += (_, line) => Add(line.Data, "stderr: ");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The built sample's directory, beside this test assembly's configuration (Release or Debug).</summary>
    public static string Directory(string sample)
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var framework = testBin.Name;                  // net10.0
        var configuration = testBin.Parent!.Name;      // Release
        return Path.Combine(SourceDirectory(sample), "bin", configuration, framework);
    }

    /// <summary>The sample's source directory.</summary>
    public static string SourceDirectory(string sample)
    {
        // tests/SkLookup.Hosting.Tests/bin/Release/net10.0 -> the repository.
        var root = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(root, "samples", sample);
    }

    /// <summary>Starts <c>dotnet SAMPLE.dll ARGS</c> inside <paramref name="netns"/>, in the sample's directory.</summary>
    public static SampleApp Start(TestNetNs netns, string sample, params string[] arguments) => Start(netns, sample, [], arguments);

    /// <summary>Starts the sample with extra environment variables.</summary>
    public static SampleApp Start(TestNetNs netns, string sample, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(netns, sample, [], arguments, environment);

    /// <summary>Starts the sample as user nobody, with no capabilities.</summary>
    public static SampleApp StartUnprivileged(TestNetNs netns, string sample, params string[] arguments) =>
        Start(netns, sample, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"], arguments);

    /// <summary>
    /// Starts the sample as user nobody in group <paramref name="gid"/> and no other, with no capabilities from Linux 6.5
    /// on and CAP_BPF alone before (what the README says a member of the state's group needs).
    /// </summary>
    public static SampleApp StartAsGroupMember(TestNetNs netns, string sample, string gid, params string[] arguments) =>
        Start(netns, sample, SkLookup.Bpf.Features.KernelVersion.Current < new Version(6, 5)
            ? ["setpriv", "--reuid=65534", "--regid=65534", $"--groups={gid}", "--inh-caps=-all,+bpf", "--ambient-caps=-all,+bpf", "--bounding-set=-all,+bpf"]
            : ["setpriv", "--reuid=65534", "--regid=65534", $"--groups={gid}", "--inh-caps=-all", "--bounding-set=-all"], arguments);

    /// <summary>
    /// Starts the sample as systemd would start a socket-activated service: <paramref name="socket"/>, which
    /// the caller keeps (it outlives the app, as systemd's copy does), becomes fd 3, named
    /// <paramref name="name"/>, with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES set.
    /// </summary>
    public static SampleApp StartActivated(TestNetNs netns, string sample, System.Net.Sockets.Socket socket, string name, params string[] arguments)
    {
        // A duplicate without close-on-exec is inherited; the shell moves it to fd 3 and execs the app (same pid).
        var inherited = Fcntl((int)socket.Handle, FDupFd, 10);
        if (inherited < 0)
            throw new InvalidOperationException($"fcntl(F_DUPFD) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        try
        {
            return Start(netns, sample,
            [
                "bash", "-c",
                $"exec 3<&{inherited} {inherited}<&-; export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES={name}; exec \"$@\"", "bash",
            ], arguments);
        }
        finally
        {
            Close(inherited);
        }
    }

    private const int FDupFd = 0;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    private static SampleApp Start(TestNetNs netns, string sample, string[] wrapper, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var directory = Directory(sample);
        var dll = Path.Combine(directory, sample + ".dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is not built: build the test project, which builds the samples", dll);
        var start = new ProcessStartInfo("nsenter")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add($"--net={netns.Namespace.Path}");
        start.ArgumentList.Add("--");
        foreach (var word in wrapper)
            start.ArgumentList.Add(word);
        start.ArgumentList.Add(Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet");
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        // A sample reads ASPNETCORE_* and DOTNET_* from the environment: keep the test runner's out of it.
        foreach (var name in start.Environment.Keys.Where(key => key.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return new SampleApp(Process.Start(start)!);
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Every line so far, stderr lines prefixed with "stderr: ".</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
                return [.. _lines];
        }
    }

    /// <summary>Waits for a line that contains <paramref name="text"/>, failing with the output so far.</summary>
    public async Task<string> WaitForLine(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? StartTimeout);
        while (true)
        {
            if (Lines.FirstOrDefault(line => line.Contains(text, StringComparison.Ordinal)) is { } found)
                return found;
            if (_process.HasExited && !await _lineAdded.WaitAsync(TimeSpan.FromMilliseconds(200)))
                throw new InvalidOperationException($"the app exited ({_process.ExitCode}) without printing '{text}':\n{Output}");
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"the app did not print '{text}' in time:\n{Output}");
            await _lineAdded.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExit(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? StartTimeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the app did not exit in time:\n{Output}");
        }
        _process.WaitForExit(); // Drains the redirected output.
        return _process.ExitCode;
    }

    /// <summary>Asks the app to stop, as systemd does (SIGTERM), and returns its exit code.</summary>
    public async Task<int> Stop()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        return await WaitForExit();
    }

    /// <summary>The output so far, for failure messages.</summary>
    public string Output => string.Join('\n', Lines);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        _lineAdded.Dispose();
    }

    private void Add(string? line, string prefix)
    {
        if (line is null)
            return;
        lock (_lines)
            _lines.Add(prefix + line);
        _lineAdded.Release();
    }
}
