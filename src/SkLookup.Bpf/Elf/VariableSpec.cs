namespace SkLookup.Bpf;

/// <summary>
/// A global variable of an ELF object: where it lives in the value of its global data map
/// (<c>.rodata</c>, <c>.data</c>, <c>.bss</c>, ...), which is an array map with one entry.
/// </summary>
/// <param name="Name">The variable's symbol name.</param>
/// <param name="MapName">The global data map (named after its section) that holds it.</param>
/// <param name="Offset">The byte offset in the map's value.</param>
/// <param name="Size">The size in bytes.</param>
/// <param name="IsConstant">True for read-only data (<c>.rodata</c>): programs cannot write it, and it can be set only
/// before load, with <see cref="CollectionSpec.RewriteConstants"/>.</param>
public sealed record VariableSpec(string Name, string MapName, int Offset, int Size, bool IsConstant);
