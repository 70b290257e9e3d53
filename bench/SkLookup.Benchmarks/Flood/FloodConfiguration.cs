namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// One thing the flood benchmark compares: given the receiver (its namespace and socket), attach
/// something and return what detaches it. "No program" returns an empty disposable.
/// </summary>
/// <param name="Name">A short name for logs.</param>
/// <param name="Label">The row label in the tables.</param>
/// <param name="Description">One sentence for BENCHMARKS.md.</param>
/// <param name="Attach">Attaches the configuration to the receiver; disposing the result detaches it.</param>
internal sealed record FloodConfiguration(string Name, string Label, string Description, Func<FloodReceiver, IDisposable> Attach);
