using System.Buffers.Binary;

namespace SkLookup.Bpf.Tests.Elf;

/// <summary>Truncated, corrupted and foreign files fail with one clear <see cref="BpfObjectException"/>, never an index or overflow error.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class ElfMalformedObjectTests
{
    [Fact]
    public void EmptyFileIsNotAnElfFile()
    {
        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read([], "empty.o"));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.StartsWith("object empty.o: not an ELF file", error.Message);
    }

    [Fact]
    public void TextFileIsNotAnElfFile()
    {
        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read("SEC(\"sk_lookup\") int prog() { return 1; }"u8, "prog.c"));

        Assert.Contains("not an ELF file", error.Message);
    }

    [Fact]
    public void FileCutInsideTheSectionHeadersSaysItIsTruncated()
    {
        var bytes = BpfObjects.Bytes(BpfObjects.Bpf2Bpf);

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes.AsSpan(0, bytes.Length - 100), "cut.o"));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.StartsWith("object cut.o: malformed ELF object: the section header table", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void SectionPointingPastTheEndOfTheFileIsNamed()
    {
        var bytes = BpfObjects.Bytes(BpfObjects.Bpf2Bpf);
        var (offset, _) = SectionHeader(bytes, "sk_lookup/steer_by_port");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset + 24), (ulong)bytes.Length - 8); // sh_offset

        var error = Assert.Throws<BpfObjectException>(() => ElfReader.Read(bytes, "moved.o"));

        Assert.Equal("sk_lookup/steer_by_port", error.Section);
        Assert.Contains("extends past the end of the file", error.Message);
    }

    [Fact]
    public void BigEndianAndForeignObjectsAreNamedAsSuch()
    {
        var bytes = BpfObjects.Bytes(BpfObjects.Bpf2Bpf);
        var bigEndian = (byte[])bytes.Clone();
        bigEndian[5] = 2;
        var x86 = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(x86.AsSpan(18), 62); // EM_X86_64

        Assert.Contains("big-endian", Assert.Throws<BpfObjectException>(() => ElfReader.Read(bigEndian)).Message);
        Assert.Contains("ELF machine 62 is not eBPF", Assert.Throws<BpfObjectException>(() => ElfReader.Read(x86)).Message);
    }

    [Theory]
    [MemberData(nameof(BpfObjects.All), MemberType = typeof(BpfObjects))]
    public void EveryTruncationFailsCleanly(string name)
    {
        var bytes = BpfObjects.Bytes(name);

        for (var length = 0; length < bytes.Length; length += 7)
            ReadOrFailCleanly(bytes.AsSpan(0, length).ToArray(), $"{name} cut to {length} bytes");
    }

    [Theory]
    [MemberData(nameof(BpfObjects.All), MemberType = typeof(BpfObjects))]
    public void RandomCorruptionFailsCleanlyOrReads(string name)
    {
        var original = BpfObjects.Bytes(name);
        var random = new Random(name.Length * 7919); // Fixed seeds: a failure reproduces.

        for (var round = 0; round < 1500; round++)
        {
            var bytes = (byte[])original.Clone();
            var changes = 1 + random.Next(4);
            var description = new List<string>();
            for (var i = 0; i < changes; i++)
            {
                var at = random.Next(bytes.Length);
                var value = (byte)random.Next(256);
                bytes[at] = value;
                description.Add($"[{at}]=0x{value:x2}");
            }
            ReadOrFailCleanly(bytes, $"{name} with {string.Join(" ", description)}");
        }
    }

    [Theory]
    [MemberData(nameof(BpfObjects.All), MemberType = typeof(BpfObjects))]
    public void CorruptedHeadersAndTablesFailCleanlyOrRead(string name)
    {
        // Aim at the parts that hold offsets and counts: the ELF header, the section headers, the symbol
        // table and the BTF, where random corruption elsewhere rarely lands.
        var original = BpfObjects.Bytes(name);
        var regions = new List<(int Start, int Length)> { (0, 64) };
        var sectionTable = (int)BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(40));
        regions.Add((sectionTable, original.Length - sectionTable));
        foreach (var section in new[] { ".symtab", ".BTF", ".BTF.ext", ".maps", "maps" })
        {
            if (TrySectionHeader(original, section, out var header))
                regions.Add(((int)BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(header + 24)), (int)BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(header + 32))));
        }
        var random = new Random(name.Length * 104729);

        foreach (var (start, length) in regions)
        {
            for (var round = 0; round < 300; round++)
            {
                var bytes = (byte[])original.Clone();
                var at = start + random.Next(length);
                var value = random.Next(4) switch { 0 => (byte)0, 1 => (byte)0xff, _ => (byte)random.Next(256) };
                bytes[at] = value;
                ReadOrFailCleanly(bytes, $"{name} with [{at}]=0x{value:x2}");
            }
        }
    }

    private static void ReadOrFailCleanly(byte[] bytes, string what)
    {
        try
        {
            ElfReader.Read(bytes, "corrupt.o");
        }
        catch (BpfObjectException error)
        {
            Assert.StartsWith("object corrupt.o", error.Message);
            Assert.DoesNotContain('\n', error.Message);
        }
        catch (Exception error)
        {
            Assert.Fail($"{what}: {error.GetType().Name} instead of a BpfObjectException: {error}");
        }
    }

    /// <summary>The byte offset of a section's header in the file, and the section's index.</summary>
    internal static (int Offset, int Index) SectionHeader(byte[] bytes, string name)
    {
        Assert.True(TrySectionHeader(bytes, name, out var offset), $"no section {name}");
        return (offset, (offset - (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40))) / 64);
    }

    private static bool TrySectionHeader(byte[] bytes, string name, out int offset)
    {
        var table = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(60));
        var namesHeader = table + 64 * BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(62));
        var names = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(namesHeader + 24));
        for (var i = 0; i < count; i++)
        {
            offset = table + 64 * i;
            var nameAt = names + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
            var end = Array.IndexOf(bytes, (byte)0, nameAt);
            if (System.Text.Encoding.ASCII.GetString(bytes, nameAt, end - nameAt) == name)
                return true;
        }
        offset = 0;
        return false;
    }
}
