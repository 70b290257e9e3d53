using System.Buffers.Binary;
using System.Text;

namespace SkLookup.Bpf.Tests.Elf;

/// <summary>Writes a small <c>.BTF</c> section for tests: the kinds that BTF-defined maps use.</summary>
internal sealed class BtfBuilder
{
    private readonly List<byte> _types = [];
    private readonly List<byte> _strings = [0];
    private uint _count;
    private uint? _int;

    /// <summary><c>int</c>, the element and index type of the arrays that <c>__uint</c> encodes.</summary>
    public uint IntType => _int ??= Int("int", 4);

    public uint Int(string name, uint size) => Add(name, 1, 0, size, Words(size * 8));

    public uint Pointer(uint target) => Add("", 2, 0, target);

    public uint Array(uint element, uint count) => Add("", 3, 0, 0, Words(element, IntType, count));

    public uint Typedef(string name, uint target) => Add(name, 8, 0, target);

    public uint Struct(string name, uint size, params (string Name, uint Type)[] members)
    {
        var extra = new List<uint>();
        foreach (var (memberName, type) in members)
            extra.AddRange([String(memberName), type, 0]);
        return Add(name, 4, (uint)members.Length, size, [.. extra]);
    }

    public uint Var(string name, uint type) => Add(name, 14, 0, type, Words(1 /* global */));

    public uint DataSection(string name, params (uint Var, uint Size)[] variables)
    {
        var extra = new List<uint>();
        foreach (var (variable, size) in variables)
            extra.AddRange([variable, 0, size]); // Offsets stay 0 in objects: the loader takes them from the symbols.
        return Add(name, 15, (uint)variables.Length, 0, [.. extra]);
    }

    /// <summary><c>__uint(name, value)</c>: <c>int (*name)[value]</c>.</summary>
    public (string, uint) Uint(string name, uint value) => (name, Pointer(Array(IntType, value)));

    /// <summary><c>__type(name, type)</c>: <c>type *name</c>.</summary>
    public (string, uint) Type(string name, uint type) => (name, Pointer(type));

    public byte[] Build()
    {
        var header = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(header, 0xeb9f);
        header[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 24);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), (uint)_strings.Count);
        return [.. header, .. _types, .. _strings];
    }

    private static uint[] Words(params uint[] words) => words;

    private uint String(string text)
    {
        if (text.Length == 0)
            return 0;
        var offset = (uint)_strings.Count;
        _strings.AddRange(Encoding.UTF8.GetBytes(text));
        _strings.Add(0);
        return offset;
    }

    private uint Add(string name, uint kind, uint count, uint sizeOrType, params uint[] extra)
    {
        var nameOffset = String(name);
        foreach (var word in (uint[])[nameOffset, (kind << 24) | count, sizeOrType, .. extra])
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, word);
            _types.AddRange(bytes);
        }
        return ++_count;
    }
}
