namespace SkLookup.Benchmarks.TestRuns;

/// <summary>How the test-run benchmark measures.</summary>
/// <param name="Cpu">The CPU the measuring thread is pinned to.</param>
/// <param name="Rounds">Alternating no-op/candidate rounds per case.</param>
/// <param name="TargetMeasurement">About how long one candidate measurement takes; sets the repeat.</param>
internal sealed record TestRunSettings(int Cpu, int Rounds, TimeSpan TargetMeasurement);
