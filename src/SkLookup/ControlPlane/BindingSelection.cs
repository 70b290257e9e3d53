namespace SkLookup;

/// <summary>What <see cref="Dispatcher.SelectBindings"/> found: the first bindings that match, and how many match in all.</summary>
/// <param name="First">The first matching bindings in precedence order (<see cref="BindingTable.Sort"/>), at most as many as were asked for.</param>
/// <param name="Matched">How many bindings match the filter, including those not returned.</param>
public sealed record BindingSelection(IReadOnlyList<Binding> First, int Matched)
{
    /// <summary>True if <see cref="First"/> holds every matching binding.</summary>
    public bool IsComplete => First.Count == Matched;
}
