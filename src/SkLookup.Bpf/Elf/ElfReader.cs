namespace SkLookup.Bpf;

/// <summary>
/// Reads eBPF ELF objects, as clang -target bpf writes them, into a <see cref="CollectionSpec"/>, without
/// touching the kernel. It understands what sk_lookup and sk_reuseport programs use: programs in
/// <c>sk_lookup</c>, <c>sk_lookup/NAME</c>, <c>sk_reuseport</c> and <c>sk_reuseport/migrate</c> sections (several
/// per section), bpf-to-bpf calls into <c>.text</c>, BTF-defined maps in <c>.maps</c> (with pinning), legacy maps
/// in <c>maps</c>, and global data (<c>.rodata</c>, <c>.data</c>, <c>.bss</c>). What it does not do, such as CO-RE
/// relocations, kfuncs and other externs, fails with a <see cref="BpfObjectException"/> that names the section and symbol.
/// </summary>
public static class ElfReader
{
    /// <summary>Reads the object file at <paramref name="path"/>.</summary>
    /// <exception cref="BpfObjectException">The object is malformed or uses something this reader does not support.</exception>
    public static CollectionSpec Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new ElfCollectionReader(ElfFile.Parse(File.ReadAllBytes(path), Path.GetFileName(path))).Read();
    }

    /// <summary>Reads an object from its bytes; <paramref name="objectName"/> names it in error messages.</summary>
    /// <exception cref="BpfObjectException">The object is malformed or uses something this reader does not support.</exception>
    public static CollectionSpec Read(ReadOnlySpan<byte> bytes, string objectName = "object") =>
        new ElfCollectionReader(ElfFile.Parse(bytes.ToArray(), objectName)).Read();
}
