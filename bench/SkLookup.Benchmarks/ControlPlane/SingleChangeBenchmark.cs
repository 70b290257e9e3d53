using System.Diagnostics;
using System.Globalization;
using System.Net;
using SkLookup.Benchmarks.Dispatching;
using SkLookup.Benchmarks.Machine;
using SkLookup.Benchmarks.Statistics;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.ControlPlane;

/// <summary>
/// One <c>bind</c> and one <c>unbind</c> against a dispatcher that holds 1,000, 1,000,000 or 2^20 bindings (the control
/// plane benchmark's mix, spread over the four traffic classes): in the benchmark's own process
/// (<c>Dispatcher.Open(write: true)</c>, <c>AddBinding</c> or <c>RemoveBinding</c>, <c>Dispose</c>) and as a new process of the
/// native AOT tool. The load average is read next to each number, because the machine is shared. Run on its own with
/// <c>SkLookup.Benchmarks single-change [--runs N] [--sizes 1000,1000000,1048576] [--sklookup PATH]</c>; it prints a
/// markdown table and writes no report.
/// </summary>
internal static class SingleChangeBenchmark
{
    /// <summary>The binding each timed command adds and removes: a tcp4 host on a port, a probe every size already has.</summary>
    private static readonly string[] Change = ["single-bench", "tcp", "203.0.113.7", "8080"];

    public static int Run(string[] args, string repositoryRoot, Action<string> log)
    {
        var runs = 20;
        IReadOnlyList<int> sizes = [1_000, 1_000_000, 1 << 20];
        var aot = CliForm.All(repositoryRoot).Single(form => form.Name == "native AOT").FileName;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--sizes": sizes = args[++i].Split(',').Select(size => int.Parse(size.Replace("_", ""), CultureInfo.InvariantCulture)).ToList(); break;
                case "--sklookup": aot = Path.GetFullPath(args[++i]); break;
                default: throw new ArgumentException($"single-change: unknown option '{args[i]}'");
            }
        }
        var rows = new List<string>();
        using var netns = NetworkNamespace.CreatePrivate();
        using var bpffs = PrivateBpfFs.Mount();
        var netnsPath = $"/proc/{Environment.ProcessId}/fd/{netns.Handle.Value}";
        var added = Binding.Parse(Change[0], Change[1], Change[2], Change[3]);
        try
        {
            foreach (var size in sizes)
            {
                Dispatcher.Unload(netns, bpffs.Path);
                var bindings = ControlPlaneBenchmark.Bindings(size, ControlPlaneBenchmark.ApplyMix).Select(pair => pair.Binding).ToList();
                using (var dispatcher = Dispatcher.Load(netns, bpffs.Path))
                    dispatcher.ReplaceBindings(bindings, dryRun: false);
                log($"single change at {size:N0} bindings: applied; load {MachineInfo.LoadAverageNow()}");
                var bind = new List<double>();
                var unbind = new List<double>();
                var loadBefore = MachineInfo.LoadAverageNow();
                for (var run = -2; run < runs; run++)
                {
                    var clock = Stopwatch.StartNew();
                    using (var dispatcher = Dispatcher.Open(netns, bpffs.Path, write: true))
                        dispatcher.AddBinding(added);
                    var bound = clock.Elapsed.TotalMilliseconds;
                    clock.Restart();
                    using (var dispatcher = Dispatcher.Open(netns, bpffs.Path, write: true))
                        if (!dispatcher.RemoveBinding(added))
                            throw new InvalidOperationException("the bound binding was not there to remove");
                    var unbound = clock.Elapsed.TotalMilliseconds;
                    if (run < 0)
                        continue;
                    bind.Add(bound);
                    unbind.Add(unbound);
                }
                var inProcessLoad = $"{loadBefore} / {MachineInfo.LoadAverageNow()}";
                log($"  in process: bind {Summary.MedianOf(bind):F1} ms, unbind {Summary.MedianOf(unbind):F1} ms (load {inProcessLoad})");
                rows.Add(Row(size, "in process: `Open` + `AddBinding` / `RemoveBinding` + `Dispose`", bind, unbind, inProcessLoad));
                if (!File.Exists(aot))
                {
                    rows.Add($"| {size:N0} | native AOT | not built ({aot} is missing) | | | |");
                    continue;
                }
                bind.Clear();
                unbind.Clear();
                loadBefore = MachineInfo.LoadAverageNow();
                for (var run = -2; run < runs; run++)
                {
                    var bound = ControlPlaneBenchmark.RunTool(aot, ["bind", .. Change, "--netns", netnsPath, "--bpffs", bpffs.Path]);
                    var unbound = ControlPlaneBenchmark.RunTool(aot, ["unbind", .. Change, "--netns", netnsPath, "--bpffs", bpffs.Path]);
                    if (run < 0)
                        continue;
                    bind.Add(bound.TotalMilliseconds);
                    unbind.Add(unbound.TotalMilliseconds);
                }
                var cliLoad = $"{loadBefore} / {MachineInfo.LoadAverageNow()}";
                log($"  native AOT: bind {Summary.MedianOf(bind):F1} ms, unbind {Summary.MedianOf(unbind):F1} ms (load {cliLoad})");
                rows.Add(Row(size, "native AOT `sklookup bind` / `unbind`, whole process", bind, unbind, cliLoad));
            }
        }
        finally
        {
            Dispatcher.Unload(netns, bpffs.Path);
        }
        Console.WriteLine();
        Console.WriteLine($"| bindings | form | bind, ms (median, min–max) | unbind, ms (median, min–max) | runs | load average (1, 5, 15 min) before / after |");
        Console.WriteLine("|---:|---|---:|---:|---:|---|");
        foreach (var row in rows)
            Console.WriteLine(row);
        return 0;

        string Row(int size, string form, List<double> bind, List<double> unbind, string load) =>
            $"| {size:N0} | {form} | **{Summary.MedianOf(bind):F1}** ({bind.Min():F1}–{bind.Max():F1}) | **{Summary.MedianOf(unbind):F1}** ({unbind.Min():F1}–{unbind.Max():F1}) | {bind.Count} | {load} |";
    }
}
