using System.Buffers.Binary;
using System.Text;

namespace SkLookup.Bpf;

/// <summary>
/// The type information in an object's <c>.BTF</c> section (include/uapi/linux/btf.h), as far as a loader
/// needs it: to read BTF-defined maps from the <c>.maps</c> data section and to name types in messages.
/// Types are parsed on first use, so an object whose BTF holds a kind this reader does not know still
/// loads as long as nothing needs its types (legacy maps, no <c>.maps</c>).
/// </summary>
internal sealed class Btf
{
    private const ushort Magic = 0xeb9f;
    private const int HeaderSize = 24;
    private const int MaxResolveDepth = 32; // Longer typedef/modifier chains only come from corrupt BTF.

    private readonly byte[] _types;
    private readonly byte[] _strings;
    private readonly Func<string, BpfObjectException> _malformed;
    private List<BtfType>? _parsed;

    private Btf(byte[] types, byte[] strings, Func<string, BpfObjectException> malformed)
    {
        _types = types;
        _strings = strings;
        _malformed = malformed;
    }

    /// <summary>Reads the header and splits the section into its type and string parts.</summary>
    public static Btf Parse(ReadOnlySpan<byte> section, Func<string, BpfObjectException> malformed)
    {
        if (section.Length < HeaderSize)
            throw malformed($"it has {section.Length} bytes, fewer than the {HeaderSize}-byte header");
        if (BinaryPrimitives.ReadUInt16LittleEndian(section) != Magic)
            throw malformed($"bad magic 0x{BinaryPrimitives.ReadUInt16LittleEndian(section):x4} (want 0x{Magic:x4})");
        var headerLength = BinaryPrimitives.ReadUInt32LittleEndian(section[4..]);
        var typeOffset = BinaryPrimitives.ReadUInt32LittleEndian(section[8..]);
        var typeLength = BinaryPrimitives.ReadUInt32LittleEndian(section[12..]);
        var stringOffset = BinaryPrimitives.ReadUInt32LittleEndian(section[16..]);
        var stringLength = BinaryPrimitives.ReadUInt32LittleEndian(section[20..]);
        return new Btf(
            Part(section, headerLength, typeOffset, typeLength, "type", malformed),
            Part(section, headerLength, stringOffset, stringLength, "string", malformed),
            malformed);
    }

    private static byte[] Part(ReadOnlySpan<byte> section, ulong headerLength, ulong offset, ulong length, string what, Func<string, BpfObjectException> malformed)
    {
        var start = headerLength + offset;
        if (start > (ulong)section.Length || length > (ulong)section.Length - start)
            throw malformed($"the {what} part (bytes {start} to {start + length}) extends past the section's {section.Length} bytes");
        return section.Slice((int)start, (int)length).ToArray();
    }

    /// <summary>The string at <paramref name="offset"/> in the string part.</summary>
    public string String(uint offset)
    {
        if (offset >= _strings.Length)
            throw _malformed($"string offset {offset} lies outside the {_strings.Length}-byte string part");
        var rest = _strings.AsSpan((int)offset);
        var end = rest.IndexOf((byte)0);
        if (end < 0)
            throw _malformed($"the string at offset {offset} is not NUL-terminated");
        return Encoding.UTF8.GetString(rest[..end]);
    }

    /// <summary>The type with <paramref name="id"/> (1-based; 0 is void).</summary>
    public BtfType Type(uint id)
    {
        var types = Types;
        if (id == 0)
            return BtfType.Void;
        if (id > types.Count)
            throw _malformed($"type id {id} does not exist (there are {types.Count})");
        return types[(int)id - 1];
    }

    /// <summary>The DATASEC of that name, or null.</summary>
    public BtfType? FindDataSection(string name)
    {
        foreach (var type in Types)
            if (type.Kind == BtfKind.DataSection && type.Name == name)
                return type;
        return null;
    }

    /// <summary>Follows typedefs and qualifiers (const, volatile, restrict, type tags) to the type they stand for.</summary>
    public BtfType Resolve(uint id)
    {
        var type = Type(id);
        for (var depth = 0; type.Kind is BtfKind.Typedef or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag; depth++)
        {
            if (depth == MaxResolveDepth)
                throw _malformed($"type id {id} is a chain of more than {MaxResolveDepth} typedefs or qualifiers (a loop?)");
            type = Type(type.SizeOrType);
        }
        return type;
    }

    /// <summary>The size in bytes of a value of type <paramref name="id"/>, as C's sizeof gives it.</summary>
    public ulong SizeOf(uint id) => SizeOf(id, 0);

    private ulong SizeOf(uint id, int depth)
    {
        if (depth > MaxResolveDepth)
            throw _malformed($"type id {id} nests arrays more than {MaxResolveDepth} deep (a loop?)");
        var type = Resolve(id);
        return type.Kind switch
        {
            BtfKind.Int or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Struct or BtfKind.Union or BtfKind.Float or BtfKind.DataSection => type.SizeOrType,
            BtfKind.Pointer => 8,
            BtfKind.Array => ArraySize(type, SizeOf(type.ArrayElementType, depth + 1)),
            _ => throw _malformed($"type id {id} ({type.Kind} '{type.Name}') has no size"),
        };
    }

    private ulong ArraySize(BtfType array, ulong elementSize)
    {
        if (elementSize != 0 && array.ArrayElementCount > ulong.MaxValue / elementSize)
            throw _malformed($"type id {array.Id} is an array too large to have a size");
        return array.ArrayElementCount * elementSize;
    }

    /// <summary>A short human description of a type, such as "struct bpf_sk_lookup".</summary>
    public string Describe(uint id)
    {
        var type = Type(id);
        var keyword = type.Kind switch
        {
            BtfKind.Struct => "struct ",
            BtfKind.Union => "union ",
            BtfKind.Enum or BtfKind.Enum64 => "enum ",
            _ => "",
        };
        return keyword + (type.Name.Length > 0 ? type.Name : $"(anonymous {type.Kind.ToString().ToLowerInvariant()})");
    }

    private List<BtfType> Types => _parsed ??= ParseTypes();

    private List<BtfType> ParseTypes()
    {
        var types = new List<BtfType>();
        var data = _types.AsSpan();
        var position = 0;
        while (position < data.Length)
        {
            var id = (uint)types.Count + 1;
            if (data.Length - position < 12)
                throw _malformed($"type id {id} is cut off at the end of the type part");
            var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(data[position..]);
            var info = BinaryPrimitives.ReadUInt32LittleEndian(data[(position + 4)..]);
            var sizeOrType = BinaryPrimitives.ReadUInt32LittleEndian(data[(position + 8)..]);
            position += 12;
            var kind = (BtfKind)((info >> 24) & 0x1f);
            var count = (int)(info & 0xffff);
            var extra = kind switch
            {
                BtfKind.Int or BtfKind.Variable or BtfKind.DeclTag => 4,
                BtfKind.Array => 12,
                BtfKind.Struct or BtfKind.Union or BtfKind.DataSection or BtfKind.Enum64 => 12 * count,
                BtfKind.Enum or BtfKind.FunctionPrototype => 8 * count,
                BtfKind.Pointer or BtfKind.Forward or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                    or BtfKind.Function or BtfKind.Float or BtfKind.TypeTag => 0,
                _ => throw _malformed($"type id {id} has BTF kind {(int)kind}, which this loader does not know (a newer compiler?)"),
            };
            if (data.Length - position < extra)
                throw _malformed($"type id {id} ({kind}) is cut off at the end of the type part");
            var body = data.Slice(position, extra);
            position += extra;

            var type = new BtfType(id, kind, nameOffset == 0 ? "" : String(nameOffset), sizeOrType);
            switch (kind)
            {
                case BtfKind.Array:
                    type.ArrayElementType = BinaryPrimitives.ReadUInt32LittleEndian(body);
                    type.ArrayElementCount = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
                    break;
                case BtfKind.Struct or BtfKind.Union:
                    var members = new BtfMember[count];
                    for (var i = 0; i < count; i++)
                    {
                        var member = body.Slice(i * 12, 12);
                        var memberName = BinaryPrimitives.ReadUInt32LittleEndian(member);
                        members[i] = new BtfMember(memberName == 0 ? "" : String(memberName),
                            BinaryPrimitives.ReadUInt32LittleEndian(member[4..]),
                            BinaryPrimitives.ReadUInt32LittleEndian(member[8..]));
                    }
                    type.Members = members;
                    break;
                case BtfKind.DataSection:
                    var variables = new BtfSectionVariable[count];
                    for (var i = 0; i < count; i++)
                    {
                        var variable = body.Slice(i * 12, 12);
                        variables[i] = new BtfSectionVariable(BinaryPrimitives.ReadUInt32LittleEndian(variable),
                            BinaryPrimitives.ReadUInt32LittleEndian(variable[4..]),
                            BinaryPrimitives.ReadUInt32LittleEndian(variable[8..]));
                    }
                    type.Variables = variables;
                    break;
            }
            types.Add(type);
        }
        return types;
    }
}

/// <summary>BTF type kinds (BTF_KIND_*).</summary>
internal enum BtfKind : byte
{
    Void = 0, Int = 1, Pointer = 2, Array = 3, Struct = 4, Union = 5, Enum = 6, Forward = 7, Typedef = 8, Volatile = 9,
    Const = 10, Restrict = 11, Function = 12, FunctionPrototype = 13, Variable = 14, DataSection = 15, Float = 16,
    DeclTag = 17, TypeTag = 18, Enum64 = 19,
}

/// <summary>One BTF type: the common header, plus the kind-specific parts a loader reads.</summary>
internal sealed class BtfType(uint id, BtfKind kind, string name, uint sizeOrType)
{
    public static readonly BtfType Void = new(0, BtfKind.Void, "void", 0);

    public uint Id { get; } = id;
    public BtfKind Kind { get; } = kind;
    public string Name { get; } = name;

    /// <summary>The size (int, struct, union, enum, datasec) or the referenced type id (pointer, typedef, var, qualifiers).</summary>
    public uint SizeOrType { get; } = sizeOrType;

    public uint ArrayElementType { get; set; }
    public uint ArrayElementCount { get; set; }
    public IReadOnlyList<BtfMember> Members { get; set; } = [];
    public IReadOnlyList<BtfSectionVariable> Variables { get; set; } = [];
}

/// <summary>A struct or union member; <paramref name="Offset"/> is in bits.</summary>
internal readonly record struct BtfMember(string Name, uint Type, uint Offset);

/// <summary>A variable in a DATASEC: its VAR type id, and its offset and size in the section.</summary>
internal readonly record struct BtfSectionVariable(uint Type, uint Offset, uint Size);
