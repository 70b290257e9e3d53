namespace SkLookup;

/// <summary>What <see cref="Dispatcher.ReplaceBindings"/> changed (or, in a dry run, would change).</summary>
/// <param name="Added">Bindings in the new set that were not in the old one, most specific first.</param>
/// <param name="Removed">Bindings in the old set that are not in the new one, most specific first. A binding whose label changed is in both lists.</param>
public sealed record BindingsDiff(IReadOnlyList<Binding> Added, IReadOnlyList<Binding> Removed)
{
    /// <summary>True if the sets were equal.</summary>
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0;
}
