using System.Buffers.Binary;

namespace SkLookup.Bpf;

/// <summary>
/// The maps and programs of one ELF object (or any set of specs that belong together), described
/// without a kernel: <see cref="ElfReader.Read(string)"/> builds it, <see cref="BpfCollection.Load"/> turns it
/// into kernel objects. Programs name the maps they use by their keys in <see cref="Maps"/>.
/// </summary>
public sealed class CollectionSpec
{
    private readonly Dictionary<string, MapSpec> _maps;
    private readonly Dictionary<string, ProgramSpec> _programs;
    private readonly Dictionary<string, VariableSpec> _variables;

    /// <summary>Creates a collection from specs; map and program names are the dictionary keys.</summary>
    public CollectionSpec(IEnumerable<KeyValuePair<string, MapSpec>> maps, IEnumerable<KeyValuePair<string, ProgramSpec>> programs,
        IEnumerable<KeyValuePair<string, VariableSpec>>? variables = null)
    {
        _maps = new Dictionary<string, MapSpec>(maps, StringComparer.Ordinal);
        _programs = new Dictionary<string, ProgramSpec>(programs, StringComparer.Ordinal);
        _variables = new Dictionary<string, VariableSpec>(variables ?? [], StringComparer.Ordinal);
    }

    /// <summary>The maps, by name.</summary>
    public IReadOnlyDictionary<string, MapSpec> Maps => _maps;

    /// <summary>The programs, by name (for an ELF object, the name of the function symbol).</summary>
    public IReadOnlyDictionary<string, ProgramSpec> Programs => _programs;

    /// <summary>The global variables of the object, by symbol name, and where each lives in its global data map.</summary>
    public IReadOnlyDictionary<string, VariableSpec> Variables => _variables;

    /// <summary>A copy whose later changes (<see cref="RewriteConstants"/>) leave this one as it is.</summary>
    public CollectionSpec Copy() => new(_maps, _programs, _variables);

    /// <summary>
    /// Sets <c>const volatile</c> globals (in <c>.rodata</c>) before load, so that the verifier sees the new values
    /// as constants. A value is a <c>byte[]</c> of exactly the variable's size, a <see cref="bool"/>, or an integer
    /// (any integral type, written little-endian) that fits the variable's size as a signed or an unsigned number.
    /// Nothing changes unless every value is valid.
    /// </summary>
    /// <exception cref="BpfException">A name is not a variable (<see cref="BpfErrorReason.NotFound"/>), is not a
    /// constant, or a value does not fit (<see cref="BpfErrorReason.InvalidArgument"/>).</exception>
    public void RewriteConstants(IReadOnlyDictionary<string, object> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var missing = values.Keys.Where(name => !_variables.ContainsKey(name)).ToList();
        if (missing.Count > 0)
        {
            var known = _variables.Values.Where(v => v.IsConstant).Select(v => v.Name).ToList();
            throw new BpfException($"rewrite constants: no global variable named {string.Join(", ", missing)}; the constants are: " +
                (known.Count > 0 ? string.Join(", ", known) : "none"), 0, BpfErrorReason.NotFound);
        }

        var updated = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            var variable = _variables[name];
            if (!variable.IsConstant)
                throw new BpfException($"rewrite constants: '{name}' lives in {variable.MapName}, not in .rodata; declare it 'const volatile', " +
                    "or write it through the map after load", 0, BpfErrorReason.InvalidArgument);
            if (!_maps.TryGetValue(variable.MapName, out var map) || map.Contents.Count != 1)
                throw new BpfException($"rewrite constants: the map {variable.MapName} that holds '{name}' is not a global data map in this collection",
                    0, BpfErrorReason.NotFound);
            if (!updated.TryGetValue(variable.MapName, out var contents))
                updated[variable.MapName] = contents = (byte[])map.Contents[0].Value.Clone();
            if ((long)variable.Offset + variable.Size > contents.Length)
                throw new BpfException($"rewrite constants: '{name}' (offset {variable.Offset}, size {variable.Size}) lies outside {variable.MapName}",
                    0, BpfErrorReason.InvalidArgument);
            Encode(name, value, contents.AsSpan(variable.Offset, variable.Size));
        }

        foreach (var (mapName, contents) in updated)
        {
            var map = _maps[mapName];
            _maps[mapName] = map with { Contents = [new(map.Contents[0].Key, contents)] };
        }
    }

    private static void Encode(string name, object value, Span<byte> destination)
    {
        var size = destination.Length;
        switch (value)
        {
            case byte[] bytes:
                if (bytes.Length != size)
                    throw new BpfException($"rewrite constants: '{name}' is {size} bytes, but the value has {bytes.Length}", 0, BpfErrorReason.InvalidArgument);
                bytes.CopyTo(destination);
                return;
            case bool flag:
                EncodeUnsigned(name, flag ? 1UL : 0UL, destination);
                return;
            case byte or ushort or uint or ulong or nuint:
                EncodeUnsigned(name, Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture), destination);
                return;
            case sbyte or short or int or long or nint:
                var signed = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
                if (signed >= 0)
                {
                    EncodeUnsigned(name, (ulong)signed, destination);
                    return;
                }
                if (size is 0 or > 8 || (size < 8 && signed < -(1L << (8 * size - 1))))
                    throw new BpfException($"rewrite constants: {signed} does not fit '{name}' ({size} bytes)", 0, BpfErrorReason.InvalidArgument);
                WriteLittleEndian((ulong)signed, destination);
                return;
            case Enum:
                Encode(name, Convert.ChangeType(value, Enum.GetUnderlyingType(value.GetType()), System.Globalization.CultureInfo.InvariantCulture), destination);
                return;
            default:
                throw new BpfException($"rewrite constants: '{name}' cannot be set from a {value?.GetType().Name ?? "null"}; give an integer, a bool or a byte[]",
                    0, BpfErrorReason.InvalidArgument);
        }
    }

    private static void EncodeUnsigned(string name, ulong value, Span<byte> destination)
    {
        var size = destination.Length;
        if (size == 0 || size > 8 || (size < 8 && value >> (8 * size) != 0))
            throw new BpfException($"rewrite constants: {value} does not fit '{name}' ({size} bytes)" + (size > 8 ? "; give a byte[]" : ""),
                0, BpfErrorReason.InvalidArgument);
        WriteLittleEndian(value, destination);
    }

    private static void WriteLittleEndian(ulong value, Span<byte> destination)
    {
        // Global data holds the values as the programs read them: in the machine's (little-endian) order.
        Span<byte> all = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(all, value);
        all[..destination.Length].CopyTo(destination);
    }

    /// <inheritdoc />
    public override string ToString() => $"collection of {_maps.Count} maps and {_programs.Count} programs";
}
