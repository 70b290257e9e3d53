namespace SkLookup;

/// <summary>A parsed bindings file: the bindings, and the options of the labels it names.</summary>
/// <param name="Bindings">The bindings, in file order (an entry without a protocol gives a TCP and a UDP binding).</param>
/// <param name="Labels">The options of each label in the file's <c>labels</c> object.</param>
public sealed record BindingsDocument(IReadOnlyList<Binding> Bindings, IReadOnlyDictionary<string, LabelOptions> Labels);
