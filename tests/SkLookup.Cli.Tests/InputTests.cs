using System.Diagnostics;
using SkLookup.Bpf;

namespace SkLookup.Cli.Tests;

/// <summary>
/// Input that means what it says: canonical addresses in every argument, bounded and typed apply input,
/// unknown options refused, and messages that never carry raw control characters. Each bad case is one line,
/// a usage error, and changes nothing.
/// </summary>
public sealed class InputTests : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("sklookup-input-").FullName;

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        _sandbox.Dispose();
    }

    private string StateSnapshot() => _sandbox.Run("bindings", "--json").AssertOk().Output + _sandbox.Run("status", "--json", "--no-owners").AssertOk().Output;

    [Theory]
    [InlineData("bind", "web", "tcp", "010.0.0.1", "80")]
    [InlineData("bind", "web", "tcp", "1.2.3", "80")]
    [InlineData("bind", "web", "tcp", "0x0a000001", "80")]
    [InlineData("bind", "web", "tcp", "4294967295", "80")]
    [InlineData("bind", "web", "tcp", "012.1/16", "80")]
    [InlineData("bind", "web", "tcp", "192.0.2.0/024", "80")]
    [InlineData("bind", "web", "tcp", "192.0.2.0/24", "080")]
    [InlineData("bind", "web", "tcp", "2001:db8::1/64", "80")]
    [InlineData("bind", "web", "tcp", "fe80::1%lo", "80")]
    [InlineData("bindings", "tcp", "010.0.0.1")]
    [InlineData("explain", "tcp", "010.0.0.1:80")]
    [InlineData("explain", "tcp", "192.0.2.1:080")]
    [InlineData("explain", "tcp", "192.0.2.1:80", "--from", "1.2.3:80")]
    [InlineData("register-pid", "1", "web", "tcp", "0177.0.0.1", "80")]
    [InlineData("status", "--frob")]
    [InlineData("bindings", "--frob")]
    [InlineData("bind", "--frob", "tcp", "192.0.2.0/24", "80")]
    [InlineData("bind", "web", "tcp", "192.0.2.0/24", "80", "--replace-all")]
    [InlineData("unregister", "-x", "ipv4", "tcp")]
    [InlineData("bind", "a\u001b]0;pwned\u0007", "tcp", "192.0.2.0/24", "80")]
    [InlineData("bind", "a\0b", "tcp", "192.0.2.0/24", "80")]
    [InlineData("bind", "a\ufffd", "tcp", "192.0.2.0/24", "80")]
    [InlineData("bind", "web", "tcp\u001b[2J", "192.0.2.0/24", "80")]
    [InlineData("bind", "web", "tcp", "192.0.2.0/24\u001b[2J", "80")]
    [InlineData("status", "a\u009b31m")]
    public void BadArgumentsAreOneCleanLineAndChangeNothing(params string[] args)
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        var before = StateSnapshot();

        var result = _sandbox.Run(args).AssertOneLineError(2);

        AssertClean(result.Error);
        Assert.Equal(before, StateSnapshot());
    }

    [Fact]
    public void StatusWithAnUnknownOptionNamesIt()
    {
        _sandbox.Run("load").AssertOk();

        var result = _sandbox.Run("status", "--frob").AssertOneLineError(2);

        Assert.Contains("unknown option '--frob'", result.Error);
    }

    [Fact]
    public void ArgumentsAfterADoubleDashAreNotOptions()
    {
        _sandbox.Run("load").AssertOk();
        var file = Path.Combine(_directory, "-bindings.json");
        File.WriteAllText(file, """{"bindings":[{"label":"web","protocol":"tcp","prefix":"192.0.2.0/24","port":80}]}""");

        // "--" ends the options, so a path that starts with '-' reaches apply (relative paths start with it here).
        var result = Sandbox.RunRaw("apply", "--netns", _sandbox.NetNsPath, "--bpffs", _sandbox.BpfFs.Path, "--", file);

        result.AssertOk();
    }

    [Fact]
    public void ControlCharactersInAnErrorAreEscaped()
    {
        _sandbox.Run("load").AssertOk();

        var result = _sandbox.Run("bind", "a\u001b[31mred", "tcp", "192.0.2.0/24", "80").AssertOneLineError(2);

        Assert.Contains(@"a\x1b[31mred", result.Error);
        AssertClean(result.Error);
    }

    [Fact]
    public void AnErrorUnderJsonIsEscapedToo()
    {
        _sandbox.Run("load").AssertOk();

        var result = _sandbox.Run("bind", "a\u001b[31m", "tcp", "192.0.2.0/24", "80", "--json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(@"a\x1b[31m", result.ErrorJson().GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("/dev/zero", "character device")]
    [InlineData("/dev/null", "character device")]
    [InlineData("/proc", "directory")]
    [InlineData("/nonexistent/bindings.json", "No such file")]
    public void ApplyReadsOnlyRegularFilesPipesAndStdin(string path, string mentions)
    {
        _sandbox.Run("load").AssertOk();
        var before = StateSnapshot();

        var result = _sandbox.Run("apply", path).AssertOneLineError(2);

        Assert.Contains(mentions, result.Error);
        Assert.Equal(before, StateSnapshot());
    }

    [Fact]
    public void ApplyOfAnOversizedFileIsRefusedByItsSizeBeforeReading()
    {
        _sandbox.Run("load").AssertOk();
        var path = Path.Combine(_directory, "huge.json");
        using (var file = File.Create(path))
            file.SetLength(300L << 20); // sparse: 300 MB that take no disk and must take no memory

        var result = _sandbox.Run("apply", path).AssertOneLineError(2);

        Assert.Contains("more than the limit of 256 MiB", result.Error);
    }

    [Fact]
    public void ApplyOfAFifoWithoutAWriterTimesOut()
    {
        _sandbox.Run("load").AssertOk();
        var fifo = MakeFifo("silent");
        var clock = Stopwatch.StartNew();

        var result = _sandbox.Run("apply", fifo, "--read-timeout", "0.5").AssertOneLineError(2);

        Assert.Contains("nothing arrived", result.Error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task ApplyReadsAFifoWithAWriter()
    {
        _sandbox.Run("load").AssertOk();
        var fifo = MakeFifo("bindings");
        var writer = Task.Run(() => File.WriteAllText(fifo, """{"bindings":[{"label":"web","protocol":"tcp","prefix":"192.0.2.0/24","port":80}]}"""));

        _sandbox.Run("apply", fifo).AssertOk();

        await writer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Single(_sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("bindings").EnumerateArray());
    }

    [Fact]
    public async Task ApplyOfAPipeThatExceedsTheLimitStopsAtTheLimit()
    {
        var fifo = MakeFifo("flood");
        using var cancel = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            try
            {
                using var stream = new FileStream(fifo, FileMode.Open, FileAccess.Write);
                var chunk = new byte[64 << 10];
                for (var i = 0; i < 64 && !cancel.IsCancellationRequested; i++)
                    stream.Write(chunk);
            }
            catch (IOException)
            {
                // The reader closed the FIFO at the limit: EPIPE.
            }
        });

        var error = Assert.Throws<BpfException>(() => InputFile.ReadAll(fifo, 1 << 20, TimeSpan.FromSeconds(30)));

        cancel.Cancel();
        Assert.Equal(BpfErrorReason.TooBig, error.Reason);
        Assert.Contains("more than 1 MiB", error.Message);
        await writer.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ApplyFromStdinOfAChildProcessWorks()
    {
        _sandbox.Run("load").AssertOk();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "SkLookup.Cli.dll"), "apply", "-", "--netns", _sandbox.NetNsPath, "--bpffs", _sandbox.BpfFs.Path })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        process.StandardInput.Write("""{"bindings":[{"label":"web","protocol":"udp","prefix":"192.0.2.0/24","port":53}]}""");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(process.ExitCode == 0, error);
        Assert.Contains("applied", await output);
    }

    private string MakeFifo(string name)
    {
        var path = Path.Combine(_directory, name);
        var mkfifo = Process.Start("mkfifo", [path])!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    private static void AssertClean(string line)
    {
        foreach (var c in line.TrimEnd('\n'))
            Assert.False(char.IsControl(c) || c is '\u202e' or '\u200b', $"U+{(int)c:X4} in: {line}");
    }
}
