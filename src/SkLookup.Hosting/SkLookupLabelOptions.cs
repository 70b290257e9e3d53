namespace SkLookup.Hosting;

/// <summary>What an app sets for one of its labels: its bindings and its options (see <see cref="SkLookupOptions.Labels"/>).</summary>
public sealed class SkLookupLabelOptions
{
    /// <summary>The label's bindings; each one's <see cref="Binding.Label"/> must be this label.</summary>
    public IList<Binding> Bindings { get; } = [];

    /// <summary>While the label has no socket, pass its traffic on to the normal socket lookup instead of dropping it.</summary>
    public bool FallThrough { get; set; }
}
