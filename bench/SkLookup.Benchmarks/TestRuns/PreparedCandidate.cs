using SkLookup.Bpf;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>
/// A loaded candidate program, the lookups to measure it on, and everything it needs kept alive (maps,
/// sockets, namespaces), which <see cref="Dispose"/> releases.
/// </summary>
internal sealed class PreparedCandidate(BpfProgram program, IReadOnlyList<LookupCase> cases, IDisposable resources, string? note = null) : IDisposable
{
    /// <summary>The program to run.</summary>
    public BpfProgram Program { get; } = program;

    /// <summary>The lookups to measure, usually a hit and a miss.</summary>
    public IReadOnlyList<LookupCase> Cases { get; } = cases;

    /// <summary>Something about the build worth a log line (its time, its shape), or null.</summary>
    public string? Note { get; } = note;

    public void Dispose() => resources.Dispose();
}
