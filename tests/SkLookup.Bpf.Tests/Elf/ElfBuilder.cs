using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using SkLookup.Bpf.Asm;

namespace SkLookup.Bpf.Tests.Elf;

/// <summary>
/// Writes small eBPF ELF objects for tests: code, data and map sections, symbols and REL relocations, in
/// any section and symbol order. It lets tests build the objects that clang versions differ on, and
/// the ones that use features the loader refuses, without a compiler.
/// </summary>
internal sealed class ElfBuilder
{
    public const uint RBpf64_64 = 1, RBpf64_32 = 10;
    public const byte Local = 0, Global = 1;
    public const byte NoType = 0, Object = 1, Func = 2, SectionSymbol = 3;

    private readonly List<Section> _sections = [];
    private readonly List<Symbol> _symbols = [];
    private readonly List<(string Target, ulong Offset, string Symbol, uint Type)> _relocations = [];

    private sealed record Section(string Name, uint Type, ulong Flags, byte[] Data, ulong Size);
    private sealed record Symbol(string Name, byte Type, byte Binding, string? Section, ulong Value, ulong Size);

    /// <summary>A code section holding <paramref name="instructions"/>.</summary>
    public ElfBuilder Code(string name, params Instruction[] instructions)
    {
        var data = MemoryMarshal.AsBytes(instructions.AsSpan()).ToArray();
        _sections.Add(new Section(name, 1 /* PROGBITS */, 0x6 /* ALLOC|EXECINSTR */, data, (ulong)data.Length));
        return AddSymbol(name, SectionSymbol, Local, name, 0, 0);
    }

    /// <summary>A data section (PROGBITS, or NOBITS of <paramref name="noBitsSize"/> bytes when <paramref name="data"/> is null).</summary>
    public ElfBuilder Data(string name, byte[]? data, ulong noBitsSize = 0)
    {
        _sections.Add(data is null
            ? new Section(name, 8 /* NOBITS */, 0x3, [], noBitsSize)
            : new Section(name, 1, 0x3 /* WRITE|ALLOC */, data, (ulong)data.Length));
        return AddSymbol(name, SectionSymbol, Local, name, 0, 0);
    }

    /// <summary>A function symbol: <paramref name="start"/> and <paramref name="length"/> in instructions.</summary>
    public ElfBuilder Function(string name, string section, int start, int length, byte binding = Global) =>
        AddSymbol(name, Func, binding, section, (ulong)start * 8, (ulong)length * 8);

    /// <summary>A data symbol (a map definition or a variable).</summary>
    public ElfBuilder Variable(string name, string section, ulong offset, ulong size, byte binding = Global) =>
        AddSymbol(name, Object, binding, section, offset, size);

    /// <summary>An undefined symbol: an extern (kfunc, __ksym).</summary>
    public ElfBuilder Extern(string name, byte type = NoType) => AddSymbol(name, type, Global, null, 0, 0);

    /// <summary>A relocation of type <paramref name="type"/> at instruction <paramref name="instruction"/> of <paramref name="section"/>.</summary>
    public ElfBuilder Relocation(string section, int instruction, string symbol, uint type)
    {
        _relocations.Add((section, (ulong)instruction * 8, symbol, type));
        return this;
    }

    private ElfBuilder AddSymbol(string name, byte type, byte binding, string? section, ulong value, ulong size)
    {
        _symbols.Add(new Symbol(name, type, binding, section, value, size));
        return this;
    }

    /// <summary>Writes the object; <paramref name="reverse"/> reverses the order of the sections and of the symbols.</summary>
    public byte[] Build(bool reverse = false)
    {
        var sections = new List<Section>(_sections);
        foreach (var target in _relocations.Select(r => r.Target).Distinct())
            sections.Add(new Section(".rel" + target, 9 /* REL */, 0, [], 0));
        if (reverse)
            sections.Reverse();
        var symbols = new List<Symbol>(_symbols);
        if (reverse)
            symbols.Reverse();

        // Section indices: 0 null, then the sections, then .symtab, .strtab, .shstrtab.
        var index = new Dictionary<string, int>();
        for (var i = 0; i < sections.Count; i++)
            index[sections[i].Name] = i + 1;
        var symtabIndex = sections.Count + 1;
        var strtabIndex = symtabIndex + 1;
        var shstrtabIndex = strtabIndex + 1;

        var strings = new StringTable();
        var symbolIndex = new Dictionary<string, int>();
        var symtab = new byte[24 * (symbols.Count + 1)];
        for (var i = 0; i < symbols.Count; i++)
        {
            var symbol = symbols[i];
            // Section symbols are looked up by their section's name; they have no name of their own.
            symbolIndex.TryAdd(symbol.Name, i + 1);
            var entry = symtab.AsSpan(24 * (i + 1), 24);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, symbol.Type == SectionSymbol ? 0 : strings.Add(symbol.Name));
            entry[4] = (byte)((symbol.Binding << 4) | symbol.Type);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[6..], (ushort)(symbol.Section is null ? 0 : index[symbol.Section]));
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], symbol.Value);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], symbol.Size);
        }

        var sectionData = new List<(Section Section, byte[] Data, uint Link, uint Info, ulong EntrySize)>();
        foreach (var section in sections)
        {
            if (section.Type != 9)
            {
                sectionData.Add((section, section.Data, 0, 0, 0));
                continue;
            }
            var target = section.Name[4..];
            var relocations = _relocations.Where(r => r.Target == target).ToList();
            var data = new byte[16 * relocations.Count];
            for (var i = 0; i < relocations.Count; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(16 * i), relocations[i].Offset);
                BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(16 * i + 8), ((ulong)symbolIndex[relocations[i].Symbol] << 32) | relocations[i].Type);
            }
            sectionData.Add((section, data, (uint)symtabIndex, (uint)index[target], 16));
        }
        sectionData.Add((new Section(".symtab", 2, 0, symtab, (ulong)symtab.Length), symtab, (uint)strtabIndex, 1, 24));
        var strtab = strings.Bytes();
        sectionData.Add((new Section(".strtab", 3, 0, strtab, (ulong)strtab.Length), strtab, 0, 0, 0));

        var names = new StringTable();
        var nameOffsets = sectionData.Select(s => names.Add(s.Section.Name)).ToList();
        var shstrtabName = names.Add(".shstrtab");
        var shstrtab = names.Bytes();
        sectionData.Add((new Section(".shstrtab", 3, 0, shstrtab, (ulong)shstrtab.Length), shstrtab, 0, 0, 0));
        nameOffsets.Add(shstrtabName);

        // Layout: header, section contents (8-aligned), section header table.
        var output = new List<byte>(new byte[64]);
        var offsets = new List<ulong>();
        foreach (var (_, data, _, _, _) in sectionData)
        {
            while (output.Count % 8 != 0)
                output.Add(0);
            offsets.Add((ulong)output.Count);
            output.AddRange(data);
        }
        while (output.Count % 8 != 0)
            output.Add(0);
        var tableOffset = output.Count;
        output.AddRange(new byte[64 * (sectionData.Count + 1)]);
        var bytes = output.ToArray();

        "\x7f"u8.CopyTo(bytes);
        "ELF"u8.CopyTo(bytes.AsSpan(1));
        bytes[4] = 2; // ELFCLASS64
        bytes[5] = 1; // ELFDATA2LSB
        bytes[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(16), 1); // ET_REL
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(18), 247); // EM_BPF
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(40), (ulong)tableOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(52), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(58), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(60), (ushort)(sectionData.Count + 1));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(62), (ushort)shstrtabIndex);
        for (var i = 0; i < sectionData.Count; i++)
        {
            var (section, data, link, info, entrySize) = sectionData[i];
            var header = bytes.AsSpan(tableOffset + 64 * (i + 1), 64);
            BinaryPrimitives.WriteUInt32LittleEndian(header, nameOffsets[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], section.Type);
            BinaryPrimitives.WriteUInt64LittleEndian(header[8..], section.Flags);
            BinaryPrimitives.WriteUInt64LittleEndian(header[24..], offsets[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(header[32..], section.Type == 8 ? section.Size : (ulong)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[40..], link);
            BinaryPrimitives.WriteUInt32LittleEndian(header[44..], info);
            BinaryPrimitives.WriteUInt64LittleEndian(header[48..], 8);
            BinaryPrimitives.WriteUInt64LittleEndian(header[56..], entrySize);
        }
        return bytes;
    }

    private sealed class StringTable
    {
        private readonly List<byte> _bytes = [0];

        public uint Add(string text)
        {
            var offset = (uint)_bytes.Count;
            _bytes.AddRange(Encoding.UTF8.GetBytes(text));
            _bytes.Add(0);
            return offset;
        }

        public byte[] Bytes() => _bytes.ToArray();
    }
}
