namespace SkLookup;

/// <summary>How many bindings send traffic to one destination: a label, for one family and protocol.</summary>
/// <param name="Label">The label.</param>
/// <param name="Family">The bindings' family.</param>
/// <param name="Protocol">The bindings' protocol.</param>
/// <param name="Count">How many bindings there are.</param>
public sealed record BindingCount(string Label, Family Family, Protocol Protocol, int Count);
