namespace SkLookup.Bpf;

/// <summary>Receives one batch of <see cref="BpfMap.TryLookupBatches"/>: <paramref name="count"/> keys and as many values, back to back.</summary>
/// <param name="keys">The keys, <see cref="BpfMap.KeySize"/> bytes each; valid only during the call.</param>
/// <param name="values">The values, <see cref="BpfMap.ValueSize"/> bytes each; valid only during the call.</param>
/// <param name="count">How many entries the batch holds.</param>
public delegate void BatchHandler(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, int count);
