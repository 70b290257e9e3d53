namespace SkLookup.Benchmarks.Flood;

/// <summary>How the flood benchmark runs.</summary>
/// <param name="Layout">Where sender and receive path run.</param>
/// <param name="ReceiverCpu">The CPU that processes the flood (RPS target).</param>
/// <param name="SourceCpu">The CPU the sender thread is pinned to.</param>
/// <param name="Rounds">Rounds; each round runs every configuration once.</param>
/// <param name="Duration">How long one run is measured.</param>
/// <param name="Settle">How long to wait after attaching before measuring.</param>
/// <param name="Warmup">How long the flood runs before the first round.</param>
internal sealed record FloodSettings(FloodLayout Layout, int ReceiverCpu, int SourceCpu, int Rounds, TimeSpan Duration, TimeSpan Settle, TimeSpan Warmup);
