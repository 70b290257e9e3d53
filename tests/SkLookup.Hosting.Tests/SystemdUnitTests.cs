using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SkLookup.TestKit;
using Xunit.Abstractions;

namespace SkLookup.Hosting.Tests;

/// <summary>
/// The unit files shipped in samples/KestrelBehindSkLookup/systemd, checked by systemd-analyze, and the
/// restart they make seamless: the socket held by a parent that outlives the app (as systemd holds it),
/// registered before the app starts (as the one-shot unit does), under a bounded connect loop.
/// </summary>
public sealed class SystemdUnitTests(ITestOutputHelper output)
{
    private static readonly string[] Units = ["sklookup-web.service", "web.socket", "sklookup-register-web.service", "web.service"];

    [Fact]
    public async Task TheShippedUnitsPassSystemdAnalyzeVerify()
    {
        Assert.True(File.Exists("/usr/bin/systemd-analyze"), "systemd-analyze is missing: run scripts/setup.sh (Debian package systemd)");
        var units = Path.Combine(SampleApp.SourceDirectory("KestrelBehindSkLookup"), "systemd");
        // A root of its own, with the system's units and a stand-in at each path the units execute, so that
        // the check covers what they call without installing anything on this machine.
        var root = Directory.CreateTempSubdirectory("sklookup-units-").FullName;
        try
        {
            CopyDirectory("/usr/lib/systemd/system", Path.Combine(root, "usr/lib/systemd/system"));
            var system = Directory.CreateDirectory(Path.Combine(root, "etc/systemd/system")).FullName;
            foreach (var unit in Units)
                File.Copy(Path.Combine(units, unit), Path.Combine(system, unit));
            foreach (var executable in ExecutablesOf(system))
            {
                var standIn = Path.Combine(root, executable.TrimStart('/'));
                Directory.CreateDirectory(Path.GetDirectoryName(standIn)!);
                File.WriteAllText(standIn, "#!/bin/sh\n");
                File.SetUnixFileMode(standIn, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            var start = new ProcessStartInfo("systemd-analyze") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("verify");
            start.ArgumentList.Add($"--root={root}");
            foreach (var unit in Units)
                start.ArgumentList.Add(Path.Combine(system, unit));
            using var verify = Process.Start(start)!;
            var stdout = verify.StandardOutput.ReadToEndAsync();
            var stderr = verify.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TestTiming.Scale(TimeSpan.FromSeconds(60)));
            await verify.WaitForExitAsync(timeout.Token);
            var said = await stdout + await stderr;
            Assert.True(verify.ExitCode == 0 && said.Length == 0, $"systemd-analyze verify exited {verify.ExitCode}:\n{said}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task WithTheSocketHeldOutsideTheAppARestartRefusesNoConnection()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        // systemd's part: the socket unit's listening socket, and the one-shot unit that registers it.
        using var held = scenario.NetNs.Listen(IPEndPoint.Parse("127.0.0.1:8080"));
        using (var dispatcher = scenario.Open(write: true))
            dispatcher.RegisterSocket("web", held);
        string[] arguments = ["--SkLookup:Label=web", $"--SkLookup:BpfFs={scenario.BpfFs.Path}"];

        var first = SampleApp.StartActivated(scenario.NetNs, "KestrelBehindSkLookup", held, "web", arguments);
        await first.WaitForLine("Application started");
        var result = await RestartUnderConnectLoop(scenario, first,
            () => SampleApp.StartActivated(scenario.NetNs, "KestrelBehindSkLookup", held, "web", arguments));

        output.WriteLine($"socket activation: {result}");
        Assert.Equal(0, result.Refused);
        Assert.Equal(0, result.Failed);
        Assert.Equal(result.Connections, result.Served);
        Assert.True(result.DuringGap > 0, "no connection was made while the app was down, so the test proved nothing");
    }

    [Fact]
    public async Task WithTheSocketOwnedByTheAppARestartRefusesConnections()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        string[] arguments = ["--SkLookup:Label=web", $"--SkLookup:BpfFs={scenario.BpfFs.Path}"];

        var first = SampleApp.Start(scenario.NetNs, "KestrelBehindSkLookup", arguments);
        await first.WaitForLine("Application started");
        var result = await RestartUnderConnectLoop(scenario, first, () => SampleApp.Start(scenario.NetNs, "KestrelBehindSkLookup", arguments));

        output.WriteLine($"the app's own socket: {result}");
        // While no socket is registered, the dispatcher drops the label's traffic: the client sees a RST. A
        // connection that was in the old listener's backlog when it closed is reset too (counted as failed).
        Assert.True(result.Refused > 0, $"expected refused connections while the app was down: {result}");
        Assert.True(result.DuringGap > 0, "no connection was made while the app was down, so the test proved nothing");
    }

    /// <summary>What a restart under the connect loop did.</summary>
    private sealed record RestartResult(int Connections, int Served, int Refused, int Failed, int DuringGap, TimeSpan Gap, TimeSpan SlowestServed, TimeSpan RefusedFor)
    {
        public override string ToString() =>
            $"{Connections} connections: {Served} served, {Refused} refused, {Failed} failed; {DuringGap} made while the app was down; " +
            $"the app was down for {Gap.TotalMilliseconds:F0} ms (stop to ready), the slowest served connection took {SlowestServed.TotalMilliseconds:F0} ms, " +
            $"refusals spanned {RefusedFor.TotalMilliseconds:F0} ms";
    }

    /// <summary>
    /// Connects to steered addresses every 10 ms (each connection then makes one HTTP request), stops
    /// <paramref name="first"/> with SIGTERM once 30 were served, starts its successor, and goes on until
    /// 30 more were served after the successor was ready. Bounded by count and by time.
    /// </summary>
    private static async Task<RestartResult> RestartUnderConnectLoop(HostScenario scenario, SampleApp first, Func<SampleApp> startSecond)
    {
        // Under TCG (the kernel matrix) the successor takes several times longer to start: the loop may run that much longer.
        var maxConnections = (int)(3000 * TestTiming.Slowdown);
        var clock = Stopwatch.StartNew();
        var stop = new CancellationTokenSource();
        var requests = new List<Task<(bool Served, TimeSpan Took)>>();
        var refusedAt = new List<TimeSpan>();
        var madeAt = new List<TimeSpan>();
        var served = 0;
        var loop = Task.Run(() => scenario.NetNs.Run(() =>
        {
            for (var i = 0; i < maxConnections && !stop.IsCancellationRequested; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                var began = clock.Elapsed;
                try
                {
                    client.Connect(new IPEndPoint(IPAddress.Parse($"192.0.2.{i % 250 + 1}"), 80));
                }
                catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    client.Dispose();
                    lock (refusedAt)
                        refusedAt.Add(began);
                    Thread.Sleep(10);
                    continue;
                }
                lock (madeAt)
                    madeAt.Add(began);
                lock (requests)
                    requests.Add(Request(client, began, clock, () => Interlocked.Increment(ref served)));
                Thread.Sleep(10);
            }
        }));

        await WaitUntil(() => Volatile.Read(ref served) >= 30, "30 connections served by the first app");
        var down = clock.Elapsed;
        Assert.Equal(0, await first.Stop());
        first.Dispose();
        using var second = startSecond();
        await second.WaitForLine("Application started");
        var ready = clock.Elapsed;
        var servedAtReady = Volatile.Read(ref served);
        await WaitUntil(() => Volatile.Read(ref served) >= servedAtReady + 30, "30 more connections served by the second app");
        await stop.CancelAsync();
        await loop.WaitAsync(TestTiming.Scale(TimeSpan.FromSeconds(30)));
        Task<(bool Served, TimeSpan Took)>[] all;
        lock (requests)
            all = [.. requests];
        var results = await Task.WhenAll(all).WaitAsync(TestTiming.Scale(TimeSpan.FromSeconds(90)));
        Assert.Equal(0, await second.Stop());

        var refused = refusedAt.ToList();
        var duringGap = madeAt.Count(t => t >= down && t < ready) + refused.Count(t => t >= down && t < ready);
        return new RestartResult(
            Connections: results.Length + refused.Count,
            Served: results.Count(r => r.Served),
            Refused: refused.Count,
            Failed: results.Count(r => !r.Served),
            DuringGap: duringGap,
            Gap: ready - down,
            SlowestServed: results.Where(r => r.Served).Select(r => r.Took).DefaultIfEmpty().Max(),
            RefusedFor: refused.Count == 0 ? TimeSpan.Zero : refused[^1] - refused[0]);
    }

    /// <summary>One HTTP request on a connected socket; served if the app answered it (the restarted app may answer it after a wait in the backlog).</summary>
    private static async Task<(bool Served, TimeSpan Took)> Request(Socket client, TimeSpan began, Stopwatch clock, Action onServed)
    {
        using (client)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TestTiming.Scale(TimeSpan.FromSeconds(60)));
                await client.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n"), timeout.Token);
                var response = new StringBuilder();
                var buffer = new byte[1024];
                int read;
                while ((read = await client.ReceiveAsync(buffer, timeout.Token)) > 0)
                    response.Append(Encoding.ASCII.GetString(buffer, 0, read));
                var ok = response.ToString().StartsWith("HTTP/1.1 200", StringComparison.Ordinal) && response.ToString().Contains("You dialled 192.0.2.", StringComparison.Ordinal);
                if (ok)
                    onServed();
                return (ok, clock.Elapsed - began);
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException)
            {
                return (false, clock.Elapsed - began);
            }
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + SampleApp.StartTimeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    private static IEnumerable<string> ExecutablesOf(string directory) =>
        Directory.EnumerateFiles(directory)
            .SelectMany(File.ReadLines)
            .Where(line => line.StartsWith("ExecStart=", StringComparison.Ordinal))
            .Select(line => line["ExecStart=".Length..].TrimStart('-', '@', '+', '!', ':').Split(' ')[0])
            .Distinct();

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var target = Path.Combine(to, entry.Name);
            if (entry.LinkTarget is { } link)
                File.CreateSymbolicLink(target, link);
            else if (entry is DirectoryInfo directory)
                CopyDirectory(directory.FullName, target);
            else
                File.Copy(entry.FullName, target);
        }
    }
}
