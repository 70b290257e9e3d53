using SkLookup.Benchmarks.Statistics;

namespace SkLookup.Benchmarks.ControlPlane;

/// <summary>The kernel memory one BPF object of the dispatcher takes, from its fdinfo's <c>memlock</c>.</summary>
/// <param name="Name">The map's name, or "program".</param>
/// <param name="Kind">The map type, or "program".</param>
/// <param name="Pinned">True if the object is pinned in the state directory; false for what only the program holds (its probe tables).</param>
/// <param name="Bytes">The memory charged, in bytes.</param>
internal sealed record KernelObjectMemory(string Name, string Kind, bool Pinned, long Bytes);

/// <summary>Applying one number of bindings with <c>Dispatcher.ReplaceBindings</c>, several times.</summary>
/// <param name="Bindings">How many bindings were applied.</param>
/// <param name="LoadSeconds">Each repetition's <c>Dispatcher.Load</c> into the empty namespace.</param>
/// <param name="ApplySeconds">Each repetition's first apply, from no bindings to all of them.</param>
/// <param name="ReapplySeconds">Each repetition's second apply: the same set with one binding replaced.</param>
/// <param name="Memory">The kernel objects after the first apply of the last repetition.</param>
/// <param name="ProgramSeconds">The program alone for the same bindings, without the control plane: shape, probe tables, generate, verify, load.</param>
internal sealed record ApplyResult(int Bindings, IReadOnlyList<double> LoadSeconds, IReadOnlyList<double> ApplySeconds, IReadOnlyList<double> ReapplySeconds,
    IReadOnlyList<KernelObjectMemory> Memory, IReadOnlyList<double> ProgramSeconds)
{
    /// <summary>The first applies, summarised.</summary>
    public Summary Apply => Summary.Of(ApplySeconds);

    /// <summary>The second applies, summarised.</summary>
    public Summary Reapply => Summary.Of(ReapplySeconds);

    /// <summary>All the kernel memory the dispatcher takes with these bindings.</summary>
    public long TotalBytes => Memory.Sum(item => item.Bytes);
}

/// <summary>One form of the command-line tool, and the time of one <c>sklookup bind</c> with it.</summary>
/// <param name="Form">What it is, e.g. "JIT: dotnet SkLookup.Cli.dll".</param>
/// <param name="Path">The file that was run.</param>
/// <param name="Milliseconds">Each timed run's wall-clock time from process start to exit, or empty if it was not built.</param>
/// <param name="Missing">Why the form was not measured, or null.</param>
/// <param name="InProcess">True for the library calls timed in the benchmark's own process, without a new process.</param>
/// <param name="TargetMilliseconds">The form's target, or null.</param>
internal sealed record CliTiming(string Form, string Path, IReadOnlyList<double> Milliseconds, string? Missing, bool InProcess = false, double? TargetMilliseconds = null);

/// <summary>One form of the tool applying a file of bindings, as /usr/bin/time measured it.</summary>
/// <param name="Form">The form.</param>
/// <param name="Bindings">How many bindings the file holds.</param>
/// <param name="FileBytes">The file's size.</param>
/// <param name="Seconds">Each run's wall-clock time, from process start to exit.</param>
/// <param name="CpuSeconds">Each run's user plus system time.</param>
/// <param name="PeakRssKiB">Each run's peak resident set size (kibibytes, as GNU time's %M gives it).</param>
/// <param name="Missing">Why the form was not measured, or null.</param>
/// <param name="StatusSeconds">Each run's wall-clock time of <c>sklookup status</c> on the applied set (its summary, by default).</param>
/// <param name="BindingsSeconds">The same for <c>sklookup bindings</c>.</param>
internal sealed record CliApplyResult(string Form, int Bindings, long FileBytes, IReadOnlyList<double> Seconds, IReadOnlyList<double> CpuSeconds,
    IReadOnlyList<double> PeakRssKiB, string? Missing, IReadOnlyList<double>? StatusSeconds = null, IReadOnlyList<double>? BindingsSeconds = null)
{
    /// <summary>The wall-clock times, summarised.</summary>
    public Summary Wall => Summary.Of(Seconds);
}

/// <summary>Everything the control-plane benchmark measured.</summary>
/// <param name="Applies">By number of bindings.</param>
/// <param name="BindingsForCli">The bindings in the state each timed <c>sklookup bind</c> ran against.</param>
/// <param name="Cli">By form of the tool.</param>
/// <param name="CliRuns">Timed runs per form.</param>
/// <param name="Notes">What else the run found worth saying (a form that did not build, and why).</param>
/// <param name="CliApplies">The tool applying the largest set from a file, by form; the library's time for the same set is <see cref="Applies"/>' last.</param>
internal sealed record ControlPlaneResults(IReadOnlyList<ApplyResult> Applies, int BindingsForCli, IReadOnlyList<CliTiming> Cli, int CliRuns, IReadOnlyList<string> Notes,
    IReadOnlyList<CliApplyResult> CliApplies);
