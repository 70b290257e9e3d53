using SkLookup.Bpf;

namespace SkLookup.Benchmarks.TestRuns;

/// <summary>
/// A loaded candidate program, the lookups to measure it on, and everything it needs kept alive (maps,
/// sockets, namespaces), which <see cref="Dispose"/> releases.
/// </summary>
internal sealed class PreparedCandidate(BpfProgram program, IReadOnlyList<LookupCase> cases, IDisposable resources) : IDisposable
{
    /// <summary>The program to run.</summary>
    public BpfProgram Program { get; } = program;

    /// <summary>The lookups to measure, usually a hit and a miss.</summary>
    public IReadOnlyList<LookupCase> Cases { get; } = cases;

    public void Dispose() => resources.Dispose();
}
