namespace SkLookup;

/// <summary>Options of a label, as a bindings file sets them.</summary>
/// <param name="FallThrough">Without a socket, pass the label's traffic on to the normal lookup instead of dropping it.</param>
public sealed record LabelOptions(bool FallThrough);
