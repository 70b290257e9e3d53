namespace SkLookup.Destinations;

/// <summary>Where bindings send traffic: a label, for one family and protocol. It owns one socket slot.</summary>
/// <param name="Label">The label.</param>
/// <param name="Family">IPv4 or IPv6.</param>
/// <param name="Protocol">TCP or UDP.</param>
internal readonly record struct Destination(string Label, Family Family, Protocol Protocol)
{
    /// <inheritdoc />
    public override string ToString() => $"{Label} {Family.Name()} {Protocol.Name()}";
}
