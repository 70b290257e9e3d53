using System.Buffers.Binary;

namespace SkLookup.Bpf;

/// <summary>
/// The <c>.BTF.ext</c> section: function info, line info and CO-RE relocations, per code section. A loader
/// without BTF upload needs none of the first two; it only has to notice CO-RE relocations, because a
/// program that needs them is wrong unless they are applied.
/// </summary>
internal static class BtfExt
{
    private const ushort Magic = 0xeb9f;
    private const int CoreHeaderEnd = 32; // The header grew core_relo_off/len in Linux 5.7 / LLVM 11.
    private const int CoreRecordMinimumSize = 16;

    /// <summary>
    /// The CO-RE relocations: for each, the code section's name, the byte offset of the instruction, the
    /// local BTF type id and the relocation kind. An older header without the CO-RE part gives none.
    /// </summary>
    public static List<CoreRelocation> CoreRelocations(ReadOnlySpan<byte> section, Btf btf, Func<string, BpfObjectException> malformed)
    {
        var found = new List<CoreRelocation>();
        if (section.Length < 8)
            throw malformed($"it has {section.Length} bytes, fewer than a header");
        if (BinaryPrimitives.ReadUInt16LittleEndian(section) != Magic)
            throw malformed($"bad magic 0x{BinaryPrimitives.ReadUInt16LittleEndian(section):x4} (want 0x{Magic:x4})");
        var headerLength = BinaryPrimitives.ReadUInt32LittleEndian(section[4..]);
        if (headerLength < CoreHeaderEnd)
            return found;
        if ((ulong)section.Length < headerLength)
            throw malformed($"the header says it is {headerLength} bytes, but the section has {section.Length}");
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(section[24..]);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(section[28..]);
        if (length == 0)
            return found;
        var start = (ulong)headerLength + offset;
        if (start > (ulong)section.Length || length > (ulong)section.Length - start)
            throw malformed($"the CO-RE relocation part (bytes {start} to {start + length}) extends past the section's {section.Length} bytes");
        var part = section.Slice((int)start, (int)length);
        if (part.Length < 4)
            throw malformed("the CO-RE relocation part has no record size");
        var recordSize = BinaryPrimitives.ReadUInt32LittleEndian(part);
        if (recordSize < CoreRecordMinimumSize)
            throw malformed($"CO-RE relocation records of {recordSize} bytes are too small (at least {CoreRecordMinimumSize})");
        var position = 4;
        while (position < part.Length)
        {
            if (part.Length - position < 8)
                throw malformed("a CO-RE relocation block header is cut off");
            var sectionName = btf.String(BinaryPrimitives.ReadUInt32LittleEndian(part[position..]));
            var count = BinaryPrimitives.ReadUInt32LittleEndian(part[(position + 4)..]);
            position += 8;
            if ((ulong)count * recordSize > (ulong)(part.Length - position))
                throw malformed($"the CO-RE relocations of {sectionName} ({count} of {recordSize} bytes) extend past the section");
            for (var i = 0; i < count; i++)
            {
                var record = part.Slice(position, (int)recordSize);
                found.Add(new CoreRelocation(sectionName,
                    BinaryPrimitives.ReadUInt32LittleEndian(record),
                    BinaryPrimitives.ReadUInt32LittleEndian(record[4..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(record[12..])));
                position += (int)recordSize;
            }
        }
        return found;
    }

    /// <summary>The name of a CO-RE relocation kind (enum bpf_core_relo_kind), for messages.</summary>
    public static string KindName(uint kind) => kind switch
    {
        0 => "field byte offset",
        1 => "field byte size",
        2 => "field existence",
        3 => "field signedness",
        4 => "bitfield left shift",
        5 => "bitfield right shift",
        6 => "local type id",
        7 => "target type id",
        8 => "type existence",
        9 => "type size",
        10 => "enum value existence",
        11 => "enum value",
        12 => "type match",
        _ => $"kind {kind}",
    };
}

/// <summary>One CO-RE relocation: the instruction at byte <paramref name="InstructionOffset"/> of <paramref name="Section"/> depends on the kernel's layout of <paramref name="TypeId"/>.</summary>
internal readonly record struct CoreRelocation(string Section, uint InstructionOffset, uint TypeId, uint Kind);
