namespace SkLookup.Bpf;

/// <summary>How <see cref="BpfCollection.Load"/> creates a collection's kernel objects.</summary>
public sealed record CollectionOptions
{
    /// <summary>
    /// The bpffs directory where maps with <see cref="MapPinning.ByName"/> are pinned as <c>PinRoot/NAME</c>,
    /// and where a compatible map already pinned there is reused. Required when the collection has such maps.
    /// </summary>
    public string? PinRoot { get; init; }

    /// <summary>The programs to load, by name; null loads them all. Every map is created either way.</summary>
    public IReadOnlyCollection<string>? ProgramNames { get; init; }
}
