using System.Diagnostics;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// Runs iproute2, nft or a shell inside one of the benchmark's namespaces with <c>nsenter</c>, through the
/// namespace fd this process holds (<c>/proc/PID/fd/N</c>): the benchmark never names or mounts a
/// namespace where the machine would see it, and never runs these commands in its own namespace.
/// </summary>
internal static class NetnsCommand
{
    /// <summary>A path to <paramref name="netns"/> that stays valid while its handle is open.</summary>
    public static string PathOf(NetworkNamespace netns) => $"/proc/{Environment.ProcessId}/fd/{netns.Handle.Value}";

    /// <summary>Runs <c>ip ARGS</c> inside <paramref name="netns"/>.</summary>
    public static string Ip(NetworkNamespace netns, string arguments) => Run(netns, "ip " + arguments, ["ip", .. arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);

    /// <summary>Runs <paramref name="command"/> (a program and its arguments, no shell) inside <paramref name="netns"/>.</summary>
    public static string Command(NetworkNamespace netns, params string[] command) => Run(netns, string.Join(' ', command), command);

    /// <summary>
    /// Runs a shell script inside <paramref name="netns"/> and in a private mount namespace with a fresh
    /// sysfs, so that <c>/sys/class/net</c> shows the namespace's own devices; the mount dies with the
    /// shell and the machine's mounts are never touched.
    /// </summary>
    public static string ShellWithOwnSysfs(NetworkNamespace netns, string script) =>
        Run(netns, script, ["unshare", "--mount", "--propagation", "private", "sh", "-ec", "mount -t sysfs sysfs /sys\n" + script]);

    private static string Run(NetworkNamespace netns, string what, string[] command)
    {
        var start = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("--net=" + PathOf(netns));
        start.ArgumentList.Add("--");
        foreach (var argument in command)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start nsenter");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"in {netns}: '{what.Trim()}' failed (exit {process.ExitCode}): {error.Trim()}");
        return output.Result;
    }
}
