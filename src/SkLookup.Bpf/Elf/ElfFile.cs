using System.Buffers.Binary;
using System.Text;

namespace SkLookup.Bpf;

/// <summary>
/// The parts of a 64-bit little-endian ELF relocatable object (an eBPF <c>.o</c>) that a loader needs:
/// section headers, the symbol table, and relocations. Every offset and size read from the file is
/// checked against the file's length, so a truncated or corrupted object fails with a
/// <see cref="BpfObjectException"/> that says what is out of bounds, never with an index error.
/// </summary>
internal sealed class ElfFile
{
    // ELF constants (include/uapi/linux/elf.h, elf(5)).
    internal const uint ShtProgBits = 1, ShtSymTab = 2, ShtStrTab = 3, ShtRela = 4, ShtNoBits = 8, ShtRel = 9;
    internal const ulong ShfWrite = 0x1, ShfAlloc = 0x2, ShfExecInstr = 0x4;
    internal const byte SttNoType = 0, SttObject = 1, SttFunc = 2, SttSection = 3;
    internal const byte StbLocal = 0, StbGlobal = 1, StbWeak = 2;
    internal const ushort ShnUndef = 0, ShnLoReserve = 0xff00;
    private const ushort EtRel = 1, EmBpf = 247;
    private const int HeaderSize = 64, SectionHeaderSize = 64, SymbolSize = 24, RelSize = 16, RelaSize = 24;

    private readonly byte[] _data;

    private ElfFile(byte[] data, string objectName)
    {
        _data = data;
        ObjectName = objectName;
    }

    /// <summary>The object's name for messages, usually its file name.</summary>
    public string ObjectName { get; }

    /// <summary>All sections, indexed by their ELF section index (0 is the null section).</summary>
    public IReadOnlyList<ElfSection> Sections { get; private set; } = [];

    /// <summary>All symbols, indexed by their symbol table index (0 is the null symbol).</summary>
    public IReadOnlyList<ElfSymbol> Symbols { get; private set; } = [];

    /// <summary>Parses the headers, sections and symbols of <paramref name="data"/>.</summary>
    public static ElfFile Parse(byte[] data, string objectName)
    {
        var file = new ElfFile(data, objectName);
        file.ReadSections();
        file.ReadSymbols();
        return file;
    }

    /// <summary>An error about a malformed object.</summary>
    public BpfObjectException Malformed(string? section, string problem) =>
        new(ObjectName, section, null, $"malformed ELF object: {problem}", BpfErrorReason.InvalidArgument);

    /// <summary>An error about something this loader does not support.</summary>
    public BpfObjectException Unsupported(string? section, string? symbol, string problem) =>
        new(ObjectName, section, symbol, problem, BpfErrorReason.NotSupported);

    /// <summary>The bytes of a section; empty for SHT_NOBITS (.bss), whose bytes are all zero.</summary>
    public ReadOnlySpan<byte> Contents(ElfSection section) =>
        section.Type == ShtNoBits ? [] : Slice(section.Offset, section.Size, $"the contents of section {section.Name}", section.Name);

    /// <summary>The relocations in a SHT_REL or SHT_RELA section.</summary>
    public List<ElfRelocation> Relocations(ElfSection relocationSection)
    {
        var rela = relocationSection.Type == ShtRela;
        var entrySize = rela ? RelaSize : RelSize;
        var bytes = Contents(relocationSection);
        if (bytes.Length % entrySize != 0)
            throw Malformed(relocationSection.Name, $"its size {bytes.Length} is not a multiple of the entry size {entrySize}");
        var relocations = new List<ElfRelocation>(bytes.Length / entrySize);
        for (var offset = 0; offset < bytes.Length; offset += entrySize)
        {
            var entry = bytes.Slice(offset, entrySize);
            var info = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
            var symbol = (uint)(info >> 32);
            if (symbol >= Symbols.Count)
                throw Malformed(relocationSection.Name, $"relocation {offset / entrySize} refers to symbol {symbol}, but there are only {Symbols.Count}");
            relocations.Add(new ElfRelocation(
                BinaryPrimitives.ReadUInt64LittleEndian(entry),
                symbol,
                (uint)info,
                rela ? BinaryPrimitives.ReadInt64LittleEndian(entry[16..]) : 0));
        }
        return relocations;
    }

    /// <summary>The section a symbol is defined in, or null for undefined, absolute and common symbols.</summary>
    public ElfSection? SectionOf(ElfSymbol symbol) =>
        symbol.SectionIndex is ShnUndef or >= ShnLoReserve || symbol.SectionIndex >= Sections.Count ? null : Sections[symbol.SectionIndex];

    private ReadOnlySpan<byte> Slice(ulong offset, ulong length, string what, string? section = null)
    {
        var size = (ulong)_data.Length;
        if (offset > size || length > size - offset)
            throw Malformed(section, $"{what} (bytes {offset} to {offset + length}) extends past the end of the file ({size} bytes); the file is truncated or corrupt");
        return _data.AsSpan((int)offset, (int)length);
    }

    private void ReadSections()
    {
        var header = Slice(0, Math.Min((ulong)_data.Length, HeaderSize), "the ELF header");
        if (header.Length < 4 || header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
            throw new BpfObjectException(ObjectName, null, null, "not an ELF file (no \\x7fELF magic); give the .o file that clang -target bpf wrote",
                BpfErrorReason.InvalidArgument);
        if (header.Length < HeaderSize)
            throw Malformed(null, $"the ELF header needs {HeaderSize} bytes, but the file has {_data.Length}; the file is truncated");
        if (header[4] != 2)
            throw Unsupported(null, null, "a 32-bit ELF file; eBPF objects are 64-bit (build with clang -target bpf)");
        if (header[5] != 1)
            throw Unsupported(null, null, "a big-endian object (-target bpfeb); build it for this machine with -target bpf or bpfel");
        if (!BitConverter.IsLittleEndian)
            throw Unsupported(null, null, "this loader reads little-endian objects on little-endian machines only");
        var type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        if (machine != EmBpf)
            throw Unsupported(null, null, $"ELF machine {machine} is not eBPF ({EmBpf}); build it with clang -target bpf");
        if (type != EtRel)
            throw Unsupported(null, null, $"ELF type {type} is not a relocatable object (ET_REL); give the .o that clang -c wrote, not a linked file");

        var sectionTableOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[40..]);
        var sectionEntrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[58..]);
        var sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(header[60..]);
        var namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[62..]);
        if (sectionCount == 0)
            throw Malformed(null, "it has no section headers (or uses extended section numbering, which eBPF objects never need)");
        if (sectionEntrySize != SectionHeaderSize)
            throw Malformed(null, $"section header entries are {sectionEntrySize} bytes, not {SectionHeaderSize}");
        var table = Slice(sectionTableOffset, (ulong)sectionCount * SectionHeaderSize, "the section header table");

        var raw = new (uint Name, uint Type, ulong Flags, ulong Offset, ulong Size, uint Link, uint Info, ulong EntrySize)[sectionCount];
        for (var i = 0; i < sectionCount; i++)
        {
            var entry = table.Slice(i * SectionHeaderSize, SectionHeaderSize);
            raw[i] = (BinaryPrimitives.ReadUInt32LittleEndian(entry),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[24..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[40..]),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[44..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[56..]));
        }
        if (namesIndex >= sectionCount || raw[namesIndex].Type != ShtStrTab)
            throw Malformed(null, $"the section name table index {namesIndex} does not point at a string table");
        var names = Slice(raw[namesIndex].Offset, raw[namesIndex].Size, "the section name table");

        var sections = new ElfSection[sectionCount];
        for (var i = 0; i < sectionCount; i++)
        {
            var r = raw[i];
            var name = ReadString(names, r.Name, "section name table", null);
            sections[i] = new ElfSection(i, name, r.Type, r.Flags, r.Offset, r.Size, r.Link, r.Info, r.EntrySize);
        }
        Sections = sections;
    }

    private void ReadSymbols()
    {
        ElfSection? symbolTable = null;
        foreach (var section in Sections)
        {
            if (section.Type != ShtSymTab)
                continue;
            if (symbolTable is not null)
                throw Malformed(section.Name, "a second symbol table; a relocatable object has one");
            symbolTable = section;
        }
        if (symbolTable is null)
        {
            Symbols = [];
            return;
        }
        if (symbolTable.Link >= Sections.Count || Sections[(int)symbolTable.Link].Type != ShtStrTab)
            throw Malformed(symbolTable.Name, $"its string table index {symbolTable.Link} does not point at a string table");
        var strings = Contents(Sections[(int)symbolTable.Link]);
        var bytes = Contents(symbolTable);
        if (bytes.Length % SymbolSize != 0)
            throw Malformed(symbolTable.Name, $"its size {bytes.Length} is not a multiple of the symbol size {SymbolSize}");
        var symbols = new ElfSymbol[bytes.Length / SymbolSize];
        for (var i = 0; i < symbols.Length; i++)
        {
            var entry = bytes.Slice(i * SymbolSize, SymbolSize);
            var info = entry[4];
            symbols[i] = new ElfSymbol(i,
                ReadString(strings, BinaryPrimitives.ReadUInt32LittleEndian(entry), "symbol string table", symbolTable.Name),
                (byte)(info & 0xf),
                (byte)(info >> 4),
                BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]));
        }
        Symbols = symbols;
    }

    private string ReadString(ReadOnlySpan<byte> table, uint offset, string tableName, string? section)
    {
        if (offset >= table.Length)
            throw Malformed(section, $"a name at offset {offset} lies outside the {tableName} ({table.Length} bytes)");
        var rest = table[(int)offset..];
        var end = rest.IndexOf((byte)0);
        if (end < 0)
            throw Malformed(section, $"a name at offset {offset} in the {tableName} is not NUL-terminated");
        return Encoding.UTF8.GetString(rest[..end]);
    }
}

/// <summary>One ELF section header, with its name resolved.</summary>
internal sealed record ElfSection(int Index, string Name, uint Type, ulong Flags, ulong Offset, ulong Size, uint Link, uint Info, ulong EntrySize)
{
    /// <summary>True for code (SHF_EXECINSTR with bytes in the file).</summary>
    public bool IsCode => (Flags & ElfFile.ShfExecInstr) != 0 && Type == ElfFile.ShtProgBits;

    /// <summary>True for SHT_REL and SHT_RELA sections.</summary>
    public bool IsRelocations => Type is ElfFile.ShtRel or ElfFile.ShtRela;
}

/// <summary>One symbol table entry, with its name resolved.</summary>
internal readonly record struct ElfSymbol(int Index, string Name, byte Type, byte Binding, ushort SectionIndex, ulong Value, ulong Size)
{
    /// <summary>True for an undefined symbol: an extern (kfunc, __ksym, __kconfig) the object expects someone to provide.</summary>
    public bool IsUndefined => SectionIndex == ElfFile.ShnUndef;
}

/// <summary>One relocation: where (a byte offset in the section it applies to), against which symbol, of which type.</summary>
internal readonly record struct ElfRelocation(ulong Offset, uint SymbolIndex, uint Type, long Addend);
