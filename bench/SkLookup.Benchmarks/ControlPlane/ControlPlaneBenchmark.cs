using System.Diagnostics;
using System.Net;
using SkLookup.Benchmarks.Dispatching;
using SkLookup.Bpf;

namespace SkLookup.Benchmarks.ControlPlane;

/// <summary>
/// The control plane's costs, in a private network namespace with a private bpffs: the time to apply
/// 1,000, 100,000 and 1,000,000 bindings with <see cref="Dispatcher.ReplaceBindings"/> and the kernel memory
/// they take; <c>sklookup apply</c> of the largest set from a file, next to the library; and the time of one
/// <c>sklookup bind</c> from the command line, in each form of the tool, against a dispatcher that holds 200 bindings.
/// </summary>
internal sealed class ControlPlaneBenchmark(string repositoryRoot, bool quick, Action<string> log)
{
    /// <summary>The numbers of bindings applied.</summary>
    public static readonly IReadOnlyList<int> ApplyCounts = [1_000, 100_000, 1_000_000];

    /// <summary>How many bindings the dispatcher holds while <c>sklookup bind</c> is timed.</summary>
    public const int CliStateBindings = 200;

    /// <summary>The binding each timed <c>sklookup bind</c> adds (and the benchmark removes again before the next).</summary>
    public static readonly string[] CliBinding = ["cli-bench", "tcp", "203.0.113.7", "8080"];

    /// <summary>The mix of the applied bindings.</summary>
    public static BindingMix ApplyMix => BindingMix.MixedAny;

    /// <summary>Runs both parts.</summary>
    public ControlPlaneResults Run()
    {
        using var netns = NetworkNamespace.CreatePrivate();
        using var bpffs = PrivateBpfFs.Mount();
        try
        {
            var applies = new List<ApplyResult>();
            foreach (var count in ApplyCounts)
                applies.Add(MeasureApply(netns, bpffs.Path, count, Repeats(count)));
            var notes = new List<string>();
            var cliApplies = MeasureCliApply(netns, bpffs.Path, ApplyCounts[^1], Repeats(ApplyCounts[^1]), notes);
            var runs = quick ? 10 : 30;
            var cli = MeasureCli(netns, bpffs.Path, runs, notes);
            return new ControlPlaneResults(applies, CliStateBindings, cli, runs, notes, cliApplies);
        }
        finally
        {
            Dispatcher.Unload(netns, bpffs.Path);
        }
    }

    /// <summary>Only the library's apply at <paramref name="counts"/>, for a quick check of its time and memory.</summary>
    public IReadOnlyList<ApplyResult> RunApplies(IEnumerable<int> counts)
    {
        using var netns = NetworkNamespace.CreatePrivate();
        using var bpffs = PrivateBpfFs.Mount();
        try
        {
            return counts.Select(count => MeasureApply(netns, bpffs.Path, count, Repeats(count))).ToList();
        }
        finally
        {
            Dispatcher.Unload(netns, bpffs.Path);
        }
    }

    private int Repeats(int count) => count switch
    {
        <= 1_000 => quick ? 3 : 7,
        <= 100_000 => quick ? 1 : 5,
        _ => quick ? 1 : 3,
    };

    /// <summary>
    /// <paramref name="count"/> bindings spread evenly over the four traffic classes, in the mixed mix with
    /// any-port bindings, on 4,096 labels.
    /// </summary>
    public static List<(Binding Binding, uint DestinationId)> Bindings(int count, BindingMix mix)
    {
        var bindings = new List<(Binding, uint)>(count);
        for (var i = 0; i < LookupShape.All.Count; i++)
        {
            var share = count / LookupShape.All.Count + (i < count % LookupShape.All.Count ? 1 : 0);
            bindings.AddRange(BindingSet.Generate(LookupShape.All[i], share, mix));
        }
        return bindings;
    }

    private ApplyResult MeasureApply(NetworkNamespace netns, string bpffs, int count, int repeats)
    {
        var withIds = Bindings(count, ApplyMix);
        var bindings = withIds.Select(pair => pair.Binding).ToList();
        // The same set with its last binding moved to an address no other binding uses.
        var changed = new List<Binding>(bindings);
        changed[^1] = changed[^1] with { Prefix = new IPNetwork(IPAddress.Parse("198.18.0.1"), 32), Port = 9 };
        var load = new List<double>();
        var apply = new List<double>();
        var reapply = new List<double>();
        IReadOnlyList<KernelObjectMemory> memory = [];
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            Dispatcher.Unload(netns, bpffs);
            var clock = Stopwatch.StartNew();
            using (var dispatcher = Dispatcher.Load(netns, bpffs))
            {
                load.Add(clock.Elapsed.TotalSeconds);
                clock.Restart();
                var diff = dispatcher.ReplaceBindings(bindings, dryRun: false);
                apply.Add(clock.Elapsed.TotalSeconds);
                if (diff.Added.Count != count || diff.Removed.Count != 0)
                    throw new InvalidOperationException($"applying {count:N0} bindings to an empty dispatcher added {diff.Added.Count:N0} and removed {diff.Removed.Count:N0}");
                if (repeat == repeats - 1)
                    memory = MeasureMemory(dispatcher);
                clock.Restart();
                diff = dispatcher.ReplaceBindings(changed, dryRun: false);
                reapply.Add(clock.Elapsed.TotalSeconds);
                if (diff.Added.Count != 1 || diff.Removed.Count != 1)
                    throw new InvalidOperationException($"re-applying {count:N0} bindings with one changed added {diff.Added.Count:N0} and removed {diff.Removed.Count:N0}");
            }
            log($"  apply {count:N0} bindings: dispatcher load {load[^1]:F3} s, apply {apply[^1]:F3} s, apply again with one changed {reapply[^1]:F3} s; load {Machine.MachineInfo.LoadAverageNow()}");
        }
        Dispatcher.Unload(netns, bpffs);
        // The program alone for the same bindings, outside the control plane: deriving the shape, placing the
        // probe tables, generating, verifying and loading (what every apply does once).
        var programSeconds = new List<double>();
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            using var fixture = DispatcherFixture.Load(withIds);
            programSeconds.Add(fixture.BuildTime.TotalSeconds);
        }
        var result = new ApplyResult(count, load, apply, reapply, memory, programSeconds);
        log($"  the program alone for {count:N0} bindings: {Statistics.Summary.MedianOf(programSeconds):F3} s; load {Machine.MachineInfo.LoadAverageNow()}");
        log($"  {count:N0} bindings take {result.TotalBytes / 1048576.0:F1} MiB of kernel memory: " +
            string.Join(", ", memory.Select(item => $"{item.Name} {item.Bytes / 1048576.0:F2}")));
        return result;
    }

    /// <summary>
    /// The memlock of every map pinned in the state directory, of the maps the attached program holds
    /// without pins (its probe tables, found through the program's map ids), and of the program itself.
    /// </summary>
    private static List<KernelObjectMemory> MeasureMemory(Dispatcher dispatcher)
    {
        var items = new List<KernelObjectMemory>();
        var seen = new HashSet<uint>();
        foreach (var file in Directory.EnumerateFiles(dispatcher.StatePath).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            // Pinned maps are named after the map; the program and link pins are not maps.
            if (!name.StartsWith("sk_", StringComparison.Ordinal))
                continue;
            using var map = BpfMap.OpenPinned(file);
            var info = map.RefreshInfo();
            if (info.Name == name && seen.Add(info.Id))
                items.Add(new KernelObjectMemory(info.Name, info.Type.ToString(), Pinned: true, info.MemlockBytes));
        }
        using var program = BpfProgram.OpenById(dispatcher.Program.Id);
        foreach (var id in ProgramMapIds.Read(program))
        {
            if (!seen.Add(id))
                continue;
            using var map = BpfMap.OpenById(id);
            var info = map.RefreshInfo();
            items.Add(new KernelObjectMemory(info.Name, info.Type.ToString(), Pinned: false, info.MemlockBytes));
        }
        items.Add(new KernelObjectMemory("program", "program", Pinned: true, MapInfo.ReadMemlock(program.Handle)));
        return items;
    }

    private List<CliTiming> MeasureCli(NetworkNamespace netns, string bpffs, int runs, List<string> notes)
    {
        Dispatcher.Unload(netns, bpffs);
        using (var dispatcher = Dispatcher.Load(netns, bpffs))
        {
            var state = new List<Binding>();
            foreach (var (binding, _) in BindingSet.Generate(LookupShape.All[0], CliStateBindings, BindingMix.Host))
                state.Add(binding);
            dispatcher.ReplaceBindings(state, dryRun: false);
        }
        var added = Binding.Parse(CliBinding[0], CliBinding[1], CliBinding[2], CliBinding[3]);
        var netnsPath = $"/proc/{Environment.ProcessId}/fd/{netns.Handle.Value}";
        var timings = new List<CliTiming>();
        foreach (var form in CliForm.All(repositoryRoot))
        {
            if (!File.Exists(form.Required))
            {
                var reason = $"not built ({Path.GetRelativePath(repositoryRoot, form.Required)} is missing)";
                var aotFailure = Path.Combine(repositoryRoot, CliForm.AotFailureFile);
                if (form.Name == "native AOT" && File.Exists(aotFailure))
                    reason = $"native AOT did not build here: {File.ReadAllText(aotFailure).Trim()}";
                timings.Add(new CliTiming(form.Name, form.Required, [], reason, TargetMilliseconds: form.TargetMilliseconds));
                notes.Add($"{form.Name}: {reason}");
                log($"  sklookup bind, {form.Name}: {reason}");
                continue;
            }
            string[] arguments = [.. form.Prefix, "bind", .. CliBinding, "--netns", netnsPath, "--bpffs", bpffs];
            var milliseconds = new List<double>();
            // Two untimed runs first: the page cache then holds the tool's files, as it would on a server.
            for (var run = -2; run < runs; run++)
            {
                var elapsed = CommandTimer.Run(form.FileName, arguments);
                if (run >= 0)
                    milliseconds.Add(elapsed.TotalMilliseconds);
                using var dispatcher = Dispatcher.Open(netns, bpffs, write: true);
                if (!dispatcher.RemoveBinding(added))
                    throw new InvalidOperationException($"sklookup bind ({form.Name}) exited 0 but the binding {added} is not there");
            }
            var timing = new CliTiming(form.Name, form.Required, milliseconds, null, TargetMilliseconds: form.TargetMilliseconds);
            timings.Add(timing);
            log($"  sklookup bind, {form.Name}: median {Statistics.Summary.MedianOf(milliseconds):F1} ms over {runs} runs " +
                $"(min {milliseconds.Min():F1}, max {milliseconds.Max():F1})");
        }
        // The same work in this process: what the command costs apart from starting a process and a runtime.
        var inProcess = new List<double>();
        for (var run = -2; run < runs; run++)
        {
            var clock = Stopwatch.StartNew();
            using (var dispatcher = Dispatcher.Open(netns, bpffs, write: true))
                dispatcher.AddBinding(added);
            if (run >= 0)
                inProcess.Add(clock.Elapsed.TotalMilliseconds);
            using (var dispatcher = Dispatcher.Open(netns, bpffs, write: true))
                dispatcher.RemoveBinding(added);
        }
        timings.Add(new CliTiming("in process: `Dispatcher.Open` + `AddBinding`", "", inProcess, null, InProcess: true));
        log($"  in process, Dispatcher.Open + AddBinding: median {Statistics.Summary.MedianOf(inProcess):F1} ms over {runs} runs");
        return timings;
    }

    /// <summary>
    /// <c>sklookup apply FILE</c> of the largest set, from a file the benchmark writes (the same bindings the library
    /// applied), on a freshly loaded dispatcher, with each form that has no JIT warm-up advantage to hide: native AOT
    /// (which the package and the dotnet tool ship) and the framework-dependent build. /usr/bin/time gives the
    /// wall-clock time, the CPU time and the peak RSS of the whole process.
    /// </summary>
    private List<CliApplyResult> MeasureCliApply(NetworkNamespace netns, string bpffs, int count, int repeats, List<string> notes)
    {
        var results = new List<CliApplyResult>();
        var forms = CliForm.All(repositoryRoot).Where(form => form.Name is "native AOT" || form.FileName == "dotnet").ToList();
        if (!File.Exists("/usr/bin/time"))
        {
            foreach (var form in forms)
                results.Add(new CliApplyResult(form.Name, count, 0, [], [], [], "/usr/bin/time (GNU time) is not installed"));
            notes.Add("sklookup apply: not measured, /usr/bin/time (GNU time) is not installed");
            return results;
        }
        var directory = Directory.CreateTempSubdirectory("sklookup-bench-apply-");
        try
        {
            var file = Path.Combine(directory.FullName, "bindings.json");
            WriteBindingsFile(file, Bindings(count, ApplyMix).Select(pair => pair.Binding));
            var bytes = new FileInfo(file).Length;
            var netnsPath = $"/proc/{Environment.ProcessId}/fd/{netns.Handle.Value}";
            foreach (var form in forms)
            {
                if (!File.Exists(form.Required))
                {
                    results.Add(new CliApplyResult(form.Name, count, bytes, [], [], [], $"not built ({Path.GetRelativePath(repositoryRoot, form.Required)} is missing)"));
                    continue;
                }
                var wall = new List<double>();
                var cpu = new List<double>();
                var rss = new List<double>();
                var status = new List<double>();
                var listing = new List<double>();
                for (var repeat = 0; repeat < repeats; repeat++)
                {
                    Dispatcher.Unload(netns, bpffs);
                    using (Dispatcher.Load(netns, bpffs))
                    {
                    }
                    var report = Path.Combine(directory.FullName, "time.txt");
                    double[] Timed(params string[] command)
                    {
                        RunTool("/usr/bin/time", ["-f", "%e %U %S %M", "-o", report, form.FileName, .. form.Prefix, .. command, "--netns", netnsPath, "--bpffs", bpffs]);
                        return File.ReadAllLines(report).Last().Split(' ').Select(field => double.Parse(field, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                    }
                    var fields = Timed("apply", file);
                    wall.Add(fields[0]);
                    cpu.Add(fields[1] + fields[2]);
                    rss.Add(fields[3]);
                    using (var dispatcher = Dispatcher.Open(netns, bpffs))
                        if (dispatcher.CountBindings().Sum(c => c.Count) != count)
                            throw new InvalidOperationException($"sklookup apply ({form.Name}) exited 0 but the dispatcher does not hold {count:N0} bindings");
                    status.Add(Timed("status")[0]);
                    listing.Add(Timed("bindings")[0]);
                    log($"  sklookup apply of {count:N0} bindings, {form.Name}: {wall[^1]:F2} s, cpu {cpu[^1]:F2} s, peak RSS {rss[^1] / 1024:F0} MiB; " +
                        $"then status {status[^1]:F2} s, bindings {listing[^1]:F2} s");
                }
                results.Add(new CliApplyResult(form.Name, count, bytes, wall, cpu, rss, null, status, listing));
            }
        }
        finally
        {
            directory.Delete(recursive: true);
            Dispatcher.Unload(netns, bpffs);
        }
        return results;
    }

    /// <summary>Writes <paramref name="bindings"/> as a bindings file (ours, with a protocol and a port per entry).</summary>
    private static void WriteBindingsFile(string path, IEnumerable<Binding> bindings)
    {
        using var stream = File.Create(path);
        using var json = new System.Text.Json.Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteStartArray("bindings");
        foreach (var binding in bindings)
        {
            json.WriteStartObject();
            json.WriteString("label", binding.Label);
            json.WriteString("protocol", binding.Protocol.Name());
            json.WriteString("prefix", binding.Prefix.ToString());
            json.WriteNumber("port", binding.Port);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>Runs a tool to its end and returns the wall-clock time it took; a non-zero exit is an error that quotes what it printed.</summary>
    internal static TimeSpan RunTool(string fileName, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        var elapsed = clock.Elapsed;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} failed (exit {process.ExitCode}): {error.Result.Trim()} {output.Result.Trim()}");
        return elapsed;
    }
}
