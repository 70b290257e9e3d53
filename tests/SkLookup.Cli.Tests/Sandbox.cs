using System.Diagnostics;
using SkLookup.TestKit;

namespace SkLookup.Cli.Tests;

/// <summary>
/// A private network namespace and a private bpffs for one test, and a way to run the tool against
/// them. Every run passes --netns and --bpffs, so no test touches the machine's own namespace or
/// /sys/fs/bpf.
/// </summary>
public sealed class Sandbox : IDisposable
{
    /// <summary>Creates the namespace and mounts the bpffs.</summary>
    public Sandbox()
    {
        NetNs = new TestNetNs();
        try
        {
            BpfFs = new TestBpfFs();
        }
        catch
        {
            NetNs.Dispose();
            throw;
        }
    }

    /// <summary>The namespace.</summary>
    public TestNetNs NetNs { get; }

    /// <summary>The bpffs mount.</summary>
    public TestBpfFs BpfFs { get; }

    /// <summary>
    /// A path that names the namespace for this process and for its children: the namespace's open fd as
    /// seen through /proc/PID/fd (the thread that created the namespace has exited, so its
    /// /proc/PID/task/TID/ns/net is gone).
    /// </summary>
    public string NetNsPath => $"/proc/{Environment.ProcessId}/fd/{NetNs.Namespace.Handle.Value}";

    /// <summary>Runs the tool in-process with --netns and --bpffs of this sandbox.</summary>
    public CliResult Run(params string[] args) => RunRaw([.. args, "--netns", NetNsPath, "--bpffs", BpfFs.Path]);

    /// <summary>Runs the tool in-process with exactly <paramref name="args"/>: the caller passes --netns and --bpffs.</summary>
    public static CliResult RunRaw(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = CliApp.Run(args, output, error);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Runs the built tool as a child process (<c>dotnet SkLookup.Cli.dll ...</c>), with --netns and --bpffs of this sandbox.</summary>
    public CliResult RunProcess(params string[] args) => RunProcessRaw([.. args, "--netns", NetNsPath, "--bpffs", BpfFs.Path]);

    /// <summary>Runs the built tool as a child process with exactly <paramref name="args"/>.</summary>
    public static CliResult RunProcessRaw(params string[] args) =>
        RunChild("dotnet", [Path.Combine(AppContext.BaseDirectory, "SkLookup.Cli.dll"), .. args]);

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="args"/> and collects what it printed.</summary>
    public static CliResult RunChild(string fileName, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TestTiming.Scale(TimeSpan.FromMinutes(2))))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish");
        }
        return new CliResult(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Unmounts the bpffs and lets the namespace die.</summary>
    public void Dispose()
    {
        try
        {
            BpfFs.Dispose();
        }
        finally
        {
            NetNs.Dispose();
        }
    }
}
