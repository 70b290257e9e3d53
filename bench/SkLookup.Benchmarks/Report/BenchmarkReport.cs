using SkLookup.Benchmarks.ControlPlane;
using SkLookup.Benchmarks.Flood;
using SkLookup.Benchmarks.Machine;
using SkLookup.Benchmarks.TestRuns;

namespace SkLookup.Benchmarks.Report;

/// <summary>Everything one invocation measured, for the report.</summary>
internal sealed record BenchmarkReport(
    BenchmarkOptions Options,
    MachineInfo Machine,
    DateTimeOffset Started,
    TimeSpan Elapsed,
    string LoadAverageAtEnd,
    TestRunSettings? TestRunSettings,
    IReadOnlyList<TestRunCaseResult> TestRuns,
    IReadOnlyList<ILookupCandidate> Candidates,
    IReadOnlyList<FloodResults> Floods,
    IReadOnlyList<FloodConfiguration> FloodConfigurations,
    IReadOnlyList<FloodResults> AnyPortFloods,
    ControlPlaneResults? ControlPlane);
