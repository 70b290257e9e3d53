using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SkLookup.Bpf.Asm;

namespace SkLookup.Bpf;

/// <summary>
/// Turns a parsed <see cref="ElfFile"/> into a <see cref="CollectionSpec"/>: finds the maps and global data,
/// splits code sections into functions, applies relocations, and links each program with the functions it
/// calls. Nothing here depends on the order of sections or symbols, or on optional sections, so objects
/// from different clang versions read the same.
/// </summary>
internal sealed class ElfCollectionReader
{
    // Relocation types (llvm/BinaryFormat/ELFRelocs/BPF.def).
    private const uint RelocationBpf64_64 = 1, RelocationBpf64Abs64 = 2, RelocationBpf64Abs32 = 3, RelocationBpf64NoDyld32 = 4, RelocationBpf64_32 = 10;
    private const byte PseudoKernelFunctionCall = 2; // BPF_PSEUDO_KFUNC_CALL
    private const int InstructionSize = 8;
    private const int LegacyMapMinimumSize = 16, LegacyMapKnownSize = 20; // type, key_size, value_size, max_entries[, map_flags]

    private readonly ElfFile _elf;
    private readonly Dictionary<(int Section, long Offset), string> _mapsByLocation = [];
    private readonly List<(int Section, ulong Start, ulong Size, string Name)> _mapExtents = [];
    private readonly Dictionary<int, string> _dataMapsBySection = [];
    private readonly Dictionary<string, MapSpec> _maps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, VariableSpec> _variables = new(StringComparer.Ordinal);
    private readonly Dictionary<int, List<Function>> _functionsBySection = [];
    private readonly Dictionary<(int Section, int Start), Function> _functionsByStart = [];
    private readonly Dictionary<int, Dictionary<int, ElfRelocation>> _codeRelocations = [];
    private ElfSection? _btfMapsSection, _legacyMapsSection;
    private Btf? _btf;
    private string _license = "";

    public ElfCollectionReader(ElfFile elf) => _elf = elf;

    private IReadOnlyList<ElfSection> Sections => _elf.Sections;

    public CollectionSpec Read()
    {
        ClassifySections();
        ReadFunctions();
        CheckCoreRelocations();
        ReadBtfMaps();
        ReadLegacyMaps();
        ReadGlobalData();
        ReadRelocations();
        foreach (var functions in _functionsBySection.Values)
            foreach (var function in functions)
                Decode(function);
        var programs = new Dictionary<string, ProgramSpec>(StringComparer.Ordinal);
        foreach (var section in Sections)
        {
            if (!_functionsBySection.TryGetValue(section.Index, out var functions) || section.Name == ".text")
                continue;
            foreach (var function in functions)
            {
                if (!function.IsProgram)
                    continue;
                if (programs.ContainsKey(function.Name))
                    throw _elf.Malformed(section.Name, $"two programs are named {function.Name}");
                programs[function.Name] = Link(function);
            }
        }
        return new CollectionSpec(_maps, programs, _variables);
    }

    // ---- Sections -------------------------------------------------------------------------------

    private static bool IsGlobalData(string name) =>
        IsFamily(name, ".rodata") || IsFamily(name, ".data") || IsFamily(name, ".bss");

    private static bool IsReadOnlyData(string name) => IsFamily(name, ".rodata");

    private static bool IsFamily(string name, string prefix) =>
        name == prefix || (name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length && name[prefix.Length] == '.');

    private void ClassifySections()
    {
        ElfSection? btfSection = null;
        foreach (var section in Sections)
        {
            switch (section.Name)
            {
                case ".maps" when section.Type is ElfFile.ShtProgBits or ElfFile.ShtNoBits:
                    _btfMapsSection = section;
                    break;
                case "maps" when section.Type == ElfFile.ShtProgBits:
                    _legacyMapsSection = section;
                    break;
                case "license" when section.Type == ElfFile.ShtProgBits:
                    var text = _elf.Contents(section);
                    var end = text.IndexOf((byte)0);
                    _license = System.Text.Encoding.UTF8.GetString(end < 0 ? text : text[..end]);
                    break;
                case ".BTF" when section.Type == ElfFile.ShtProgBits:
                    btfSection = section;
                    break;
                case ".struct_ops" or ".struct_ops.link":
                    throw _elf.Unsupported(section.Name, null, "struct_ops maps are not supported; this loader handles sk_lookup and sk_reuseport objects");
            }
        }
        if (btfSection is not null)
            _btf = Btf.Parse(_elf.Contents(btfSection), problem => _elf.Malformed(".BTF", problem));
    }

    // ---- Functions ------------------------------------------------------------------------------

    /// <summary>One function of a code section: a program, a subprogram, or both.</summary>
    private sealed class Function(string name, ElfSection section, int start, int length, bool isProgram)
    {
        public string Name { get; } = name;
        public ElfSection Section { get; } = section;
        /// <summary>The index of its first instruction in the section.</summary>
        public int Start { get; } = start;
        public int Length { get; } = length;
        public bool IsProgram { get; } = isProgram;
        public Instruction[] Instructions { get; set; } = [];
        /// <summary>Map references, with instruction indices counted from the function's start.</summary>
        public List<MapReference> References { get; } = [];
        /// <summary>Calls (and function address loads), with the caller's index counted from the function's start.</summary>
        public List<(int Index, Function Callee)> Calls { get; } = [];
    }

    private void ReadFunctions()
    {
        foreach (var section in Sections)
        {
            if (!section.IsCode || section.Size == 0)
                continue;
            var isText = section.Name == ".text";
            if (!isText && !ProgramSections.TryResolve(section.Name, out _, out _))
                throw _elf.Unsupported(section.Name, FirstFunctionName(section),
                    $"programs of this section type are not supported; the program sections this loader knows are {ProgramSections.Supported}");
            if (section.Size % InstructionSize != 0)
                throw _elf.Malformed(section.Name, $"its size {section.Size} is not a whole number of {InstructionSize}-byte instructions");
            if (section.Size / InstructionSize > int.MaxValue)
                throw _elf.Malformed(section.Name, $"its size {section.Size} is too large");
            var sectionLength = (int)(section.Size / InstructionSize);

            var symbols = new List<ElfSymbol>();
            foreach (var symbol in _elf.Symbols)
                if (symbol.Type == ElfFile.SttFunc && symbol.SectionIndex == section.Index)
                    symbols.Add(symbol);
            symbols.Sort((a, b) => a.Value.CompareTo(b.Value));

            var functions = new List<Function>(Math.Max(1, symbols.Count));
            if (symbols.Count == 0)
            {
                // Hand-written objects may have no function symbol: the whole section is one program.
                if (!isText)
                    functions.Add(new Function(section.Name.Replace('/', '_'), section, 0, sectionLength, isProgram: true));
            }
            for (var i = 0; i < symbols.Count; i++)
            {
                var symbol = symbols[i];
                if (symbol.Value % InstructionSize != 0 || symbol.Value >= section.Size)
                    throw _elf.Malformed(section.Name, $"function {symbol.Name} starts at byte {symbol.Value}, which is not an instruction of the section");
                var start = (int)(symbol.Value / InstructionSize);
                int end;
                if (symbol.Size > 0)
                {
                    if (symbol.Size % InstructionSize != 0 || symbol.Size > section.Size - symbol.Value)
                        throw _elf.Malformed(section.Name, $"function {symbol.Name} (bytes {symbol.Value} to {symbol.Value + symbol.Size}) does not fit the section's {section.Size} bytes");
                    end = start + (int)(symbol.Size / InstructionSize);
                }
                else
                {
                    // No size (hand-written assembly): the function runs to the next one or to the section's end.
                    end = sectionLength;
                    for (var j = i + 1; j < symbols.Count && end == sectionLength; j++)
                        if (symbols[j].Value > symbol.Value)
                            end = (int)(symbols[j].Value / InstructionSize);
                }
                // libbpf's rule: in a program section, global functions are programs and static ones are subprograms.
                var isProgram = !isText && symbol.Binding is ElfFile.StbGlobal or ElfFile.StbWeak;
                var function = new Function(symbol.Name, section, start, end - start, isProgram);
                functions.Add(function);
            }
            foreach (var function in functions)
                _functionsByStart.TryAdd((section.Index, function.Start), function);
            _functionsBySection[section.Index] = functions;
        }
    }

    private string? FirstFunctionName(ElfSection section)
    {
        foreach (var symbol in _elf.Symbols)
            if (symbol.Type == ElfFile.SttFunc && symbol.SectionIndex == section.Index)
                return symbol.Name;
        return null;
    }

    /// <summary>The function that holds byte <paramref name="offset"/> of a code section, for messages.</summary>
    private string? FunctionAt(ElfSection section, ulong offset)
    {
        if (!_functionsBySection.TryGetValue(section.Index, out var functions))
            return null;
        foreach (var function in functions)
            if (offset >= (ulong)function.Start * InstructionSize && offset < (ulong)(function.Start + function.Length) * InstructionSize)
                return function.Name;
        return null;
    }

    // ---- CO-RE ----------------------------------------------------------------------------------

    private void CheckCoreRelocations()
    {
        ElfSection? extSection = null;
        foreach (var section in Sections)
            if (section.Name == ".BTF.ext" && section.Type == ElfFile.ShtProgBits)
                extSection = section;
        if (extSection is null)
            return;
        if (_btf is null)
            throw _elf.Malformed(".BTF.ext", "it is present without the .BTF section whose strings it uses");
        var relocations = BtfExt.CoreRelocations(_elf.Contents(extSection), _btf, problem => _elf.Malformed(".BTF.ext", problem));
        if (relocations.Count == 0)
            return;

        var first = relocations[0];
        string? symbol = null;
        foreach (var section in Sections)
            if (section.Name == first.Section && section.IsCode)
                symbol = FunctionAt(section, first.InstructionOffset);
        string type;
        try
        {
            type = $" of {_btf.Describe(first.TypeId)}";
        }
        catch (BpfObjectException)
        {
            type = "";
        }
        var count = relocations.Count == 1 ? "1 relocation" : $"{relocations.Count} relocations in the object";
        throw _elf.Unsupported(first.Section, symbol,
            $"CO-RE relocations are not supported ({count}; the first is a {BtfExt.KindName(first.Kind)}{type} at instruction {first.InstructionOffset / InstructionSize}); " +
            "use the kernel's own structs (<linux/bpf.h>) and plain field access instead of preserve_access_index or BPF_CORE_READ");
    }

    // ---- Maps -----------------------------------------------------------------------------------

    private void AddMap(ElfSection section, ElfSymbol symbol, ulong size, MapSpec spec)
    {
        if (!_maps.TryAdd(spec.Name, spec))
            throw _elf.Malformed(section.Name, $"two maps are named {spec.Name}");
        _mapsByLocation[(section.Index, (long)symbol.Value)] = spec.Name;
        _mapExtents.Add((section.Index, symbol.Value, size, spec.Name));
    }

    private Dictionary<string, ElfSymbol> ObjectSymbolsIn(ElfSection section)
    {
        var symbols = new Dictionary<string, ElfSymbol>(StringComparer.Ordinal);
        foreach (var symbol in _elf.Symbols)
        {
            if (symbol.SectionIndex != section.Index || symbol.Name.Length == 0)
                continue;
            if (symbol.Type == ElfFile.SttObject || (symbol.Type == ElfFile.SttNoType && symbol.Binding != ElfFile.StbLocal))
                symbols.TryAdd(symbol.Name, symbol);
        }
        return symbols;
    }

    private void ReadBtfMaps()
    {
        var section = _btfMapsSection;
        if (section is null)
            return;
        var symbols = ObjectSymbolsIn(section);
        if (symbols.Count == 0)
            return;
        if (_btf is null)
            throw _elf.Unsupported(section.Name, symbols.Keys.First(),
                "BTF-defined maps need the .BTF section, which is missing; build the object with clang -g");
        var dataSection = _btf.FindDataSection(".maps")
            ?? throw _elf.Malformed(section.Name, "the BTF has no DATASEC .maps describing the maps");

        foreach (var entry in dataSection.Variables)
        {
            var variable = _btf.Type(entry.Type);
            if (variable.Kind != BtfKind.Variable)
                throw _elf.Malformed(section.Name, $"DATASEC .maps lists type id {entry.Type} ({variable.Kind}), not a variable");
            var name = variable.Name;
            if (!symbols.TryGetValue(name, out var symbol))
                throw _elf.Malformed(section.Name, $"map {name} is in the BTF but has no symbol");
            var definition = _btf.Resolve(variable.SizeOrType);
            if (definition.Kind != BtfKind.Struct)
                throw _elf.Unsupported(section.Name, name, $"a map definition must be a struct, not {definition.Kind}");
            AddMap(section, symbol, symbol.Size, ReadBtfMapDefinition(section, name, definition));
        }
        foreach (var name in symbols.Keys)
            if (!_maps.ContainsKey(name))
                throw _elf.Malformed(section.Name, $"symbol {name} in .maps has no BTF description");
    }

    private MapSpec ReadBtfMapDefinition(ElfSection section, string name, BtfType definition)
    {
        uint? type = null, keySize = null, valueSize = null, maxEntries = null, flags = null, pinning = null;
        foreach (var member in definition.Members)
        {
            switch (member.Name)
            {
                case "type": type = UintAttribute(section, name, member); break;
                case "max_entries": maxEntries = UintAttribute(section, name, member); break;
                case "map_flags": flags = UintAttribute(section, name, member); break;
                case "pinning": pinning = UintAttribute(section, name, member); break;
                case "key_size": keySize = Agree(section, name, "key", keySize, UintAttribute(section, name, member)); break;
                case "value_size": valueSize = Agree(section, name, "value", valueSize, UintAttribute(section, name, member)); break;
                case "key": keySize = Agree(section, name, "key", keySize, TypeAttributeSize(section, name, member)); break;
                case "value": valueSize = Agree(section, name, "value", valueSize, TypeAttributeSize(section, name, member)); break;
                case "numa_node" or "map_extra":
                    if (UintAttribute(section, name, member) != 0)
                        throw _elf.Unsupported(section.Name, name, $"the map attribute {member.Name} is not supported");
                    break;
                case "values":
                    throw _elf.Unsupported(section.Name, name, "initial values (the values attribute of map-in-map and program array maps) are not supported");
                default:
                    throw _elf.Unsupported(section.Name, name, $"unknown map attribute '{member.Name}'; this loader knows type, key, key_size, value, value_size, max_entries, map_flags and pinning");
            }
        }
        if (type is null)
            throw _elf.Unsupported(section.Name, name, "the map has no type attribute");
        var mapPinning = pinning switch
        {
            null or 0 => MapPinning.None,
            1 => MapPinning.ByName,
            _ => throw _elf.Unsupported(section.Name, name, $"pinning {pinning} is not supported; use LIBBPF_PIN_NONE (0) or LIBBPF_PIN_BY_NAME (1)"),
        };
        return new MapSpec
        {
            Name = name,
            Type = (MapType)type.Value,
            KeySize = keySize ?? 0,
            ValueSize = valueSize ?? 0,
            MaxEntries = maxEntries ?? 0,
            Flags = (MapFlags)(flags ?? 0),
            Pinning = mapPinning,
        };
    }

    private uint Agree(ElfSection section, string map, string what, uint? earlier, uint now)
    {
        if (earlier is not null && earlier != now)
            throw _elf.Malformed(section.Name, $"map {map} gives two {what} sizes, {earlier} and {now}");
        return now;
    }

    /// <summary><c>__uint(name, N)</c> is a member of type <c>int (*)[N]</c>: the value is the array's length.</summary>
    private uint UintAttribute(ElfSection section, string map, BtfMember member)
    {
        var pointer = _btf!.Resolve(member.Type);
        var array = pointer.Kind == BtfKind.Pointer ? _btf.Resolve(pointer.SizeOrType) : null;
        if (array?.Kind != BtfKind.Array)
            throw _elf.Unsupported(section.Name, map, $"the map attribute {member.Name} is not written as __uint({member.Name}, N) (a pointer to an array)");
        return array.ArrayElementCount;
    }

    /// <summary><c>__type(name, T)</c> is a member of type <c>T *</c>: the size is sizeof(T).</summary>
    private uint TypeAttributeSize(ElfSection section, string map, BtfMember member)
    {
        var pointer = _btf!.Resolve(member.Type);
        if (pointer.Kind != BtfKind.Pointer)
            throw _elf.Unsupported(section.Name, map, $"the map attribute {member.Name} is not written as __type({member.Name}, T) (a pointer to T)");
        var size = _btf.SizeOf(pointer.SizeOrType);
        if (size > uint.MaxValue)
            throw _elf.Malformed(section.Name, $"map {map}: the {member.Name} type is {size} bytes");
        return (uint)size;
    }

    private void ReadLegacyMaps()
    {
        var section = _legacyMapsSection;
        if (section is null)
            return;
        var symbols = ObjectSymbolsIn(section).Values.OrderBy(s => s.Value).ToList();
        if (symbols.Count == 0)
            return;
        var bytes = _elf.Contents(section);
        foreach (var symbol in symbols)
        {
            // Definitions are all one size; a symbol without a size gets the section's share.
            var size = symbol.Size > 0 ? symbol.Size : section.Size / (ulong)symbols.Count;
            if (size < LegacyMapMinimumSize)
                throw _elf.Unsupported(section.Name, symbol.Name, $"a legacy map definition of {size} bytes is too short (struct bpf_map_def needs at least {LegacyMapMinimumSize})");
            if (symbol.Value > (ulong)bytes.Length || size > (ulong)bytes.Length - symbol.Value)
                throw _elf.Malformed(section.Name, $"map {symbol.Name} (bytes {symbol.Value} to {symbol.Value + size}) does not fit the section's {section.Size} bytes");
            var definition = bytes.Slice((int)symbol.Value, (int)size);
            if (definition.Length > LegacyMapKnownSize && definition[LegacyMapKnownSize..].ContainsAnyExcept((byte)0))
                throw _elf.Unsupported(section.Name, symbol.Name,
                    "the legacy map definition sets fields after map_flags (such as inner_map_idx or numa_node), which are not supported; declare the map in .maps with BTF instead");
            AddMap(section, symbol, size, new MapSpec
            {
                Name = symbol.Name,
                Type = (MapType)BinaryPrimitives.ReadUInt32LittleEndian(definition),
                KeySize = BinaryPrimitives.ReadUInt32LittleEndian(definition[4..]),
                ValueSize = BinaryPrimitives.ReadUInt32LittleEndian(definition[8..]),
                MaxEntries = BinaryPrimitives.ReadUInt32LittleEndian(definition[12..]),
                Flags = definition.Length >= LegacyMapKnownSize ? (MapFlags)BinaryPrimitives.ReadUInt32LittleEndian(definition[16..]) : MapFlags.None,
            });
        }
    }

    private void ReadGlobalData()
    {
        var ambiguous = new HashSet<string>(StringComparer.Ordinal);
        foreach (var section in Sections)
        {
            if (!IsGlobalData(section.Name) || section.Type is not (ElfFile.ShtProgBits or ElfFile.ShtNoBits) || section.Size == 0)
                continue;
            if (section.Size > int.MaxValue)
                throw _elf.Malformed(section.Name, $"its size {section.Size} is too large for a map value");
            var readOnly = IsReadOnlyData(section.Name);
            var value = section.Type == ElfFile.ShtNoBits ? new byte[section.Size] : _elf.Contents(section).ToArray();
            // One array entry holds the whole section, as libbpf does; .rodata is frozen, and read-only for
            // programs, so the verifier can treat its bytes as constants and prune code that depends on them.
            var spec = new MapSpec
            {
                Name = section.Name,
                Type = MapType.Array,
                KeySize = 4,
                ValueSize = (uint)section.Size,
                MaxEntries = 1,
                Flags = readOnly ? MapFlags.ReadOnlyProgram : MapFlags.None,
                Contents = [new(new byte[4], value)],
                Freeze = readOnly,
            };
            if (!_maps.TryAdd(spec.Name, spec))
                throw _elf.Malformed(section.Name, $"a map is named {spec.Name} too");
            _dataMapsBySection[section.Index] = spec.Name;

            foreach (var symbol in ObjectSymbolsIn(section).Values)
            {
                if (symbol.Value > section.Size || symbol.Size > section.Size - symbol.Value)
                    throw _elf.Malformed(section.Name, $"variable {symbol.Name} (bytes {symbol.Value} to {symbol.Value + symbol.Size}) lies outside the section");
                if (!_variables.TryAdd(symbol.Name, new VariableSpec(symbol.Name, section.Name, (int)symbol.Value, (int)symbol.Size, readOnly)))
                    ambiguous.Add(symbol.Name);
            }
        }
        // The same name in two sections (static variables in different functions) is ambiguous: keep neither.
        foreach (var name in ambiguous)
            _variables.Remove(name);
    }

    // ---- Relocations ----------------------------------------------------------------------------

    private void ReadRelocations()
    {
        foreach (var relocationSection in Sections)
        {
            if (!relocationSection.IsRelocations)
                continue;
            if (relocationSection.Info >= Sections.Count)
                throw _elf.Malformed(relocationSection.Name, $"it applies to section {relocationSection.Info}, which does not exist");
            var target = Sections[(int)relocationSection.Info];
            var isCode = _functionsBySection.ContainsKey(target.Index);
            var isMaps = target == _btfMapsSection || target == _legacyMapsSection;
            var isData = _dataMapsBySection.ContainsKey(target.Index);
            if (!isCode && !isMaps && !isData)
                continue; // Debug info and BTF: relocations a loader does not need.
            var relocations = _elf.Relocations(relocationSection);
            if (relocations.Count == 0)
                continue;
            if (isMaps)
                throw _elf.Unsupported(target.Name, MapAt(target, relocations[0].Offset),
                    "initial values (the values attribute of map-in-map and program array maps) are not supported");
            if (isData)
                throw _elf.Unsupported(target.Name, VariableAt(target, relocations[0].Offset),
                    "global data that holds addresses (pointers initialised to other globals or functions) is not supported");

            var byInstruction = new Dictionary<int, ElfRelocation>(relocations.Count);
            foreach (var relocation in relocations)
            {
                if (relocation.Offset % InstructionSize != 0 || relocation.Offset >= target.Size)
                    throw _elf.Malformed(target.Name, $"a relocation at byte {relocation.Offset} is not at an instruction of the section");
                if (!byInstruction.TryAdd((int)(relocation.Offset / InstructionSize), relocation))
                    throw _elf.Malformed(target.Name, $"two relocations apply to the instruction at byte {relocation.Offset}");
            }
            _codeRelocations[target.Index] = byInstruction;
        }
    }

    private string? MapAt(ElfSection section, ulong offset)
    {
        foreach (var (sectionIndex, start, size, name) in _mapExtents)
            if (sectionIndex == section.Index && offset >= start && offset - start < size)
                return name;
        return null;
    }

    private string? VariableAt(ElfSection section, ulong offset)
    {
        foreach (var variable in _variables.Values)
            if (variable.MapName == section.Name && offset >= (ulong)variable.Offset && offset < (ulong)variable.Offset + (ulong)Math.Max(variable.Size, 1))
                return variable.Name;
        return null;
    }

    // ---- Decoding and linking -------------------------------------------------------------------

    private void Decode(Function function)
    {
        var section = function.Section;
        var bytes = _elf.Contents(section).Slice(function.Start * InstructionSize, function.Length * InstructionSize);
        var instructions = MemoryMarshal.Cast<byte, Instruction>(bytes).ToArray();
        function.Instructions = instructions;
        _codeRelocations.TryGetValue(section.Index, out var relocations);

        for (var i = 0; i < instructions.Length; i++)
        {
            var instruction = instructions[i];
            var sectionIndex = function.Start + i;
            if (instruction.IsLoadImm64 && i + 1 >= instructions.Length)
                throw Fail(function, i, "a 64-bit immediate load is cut off at the end of the function", malformed: true);

            if (relocations is not null && relocations.TryGetValue(sectionIndex, out var relocation))
                ApplyRelocation(function, i, relocation);
            else if (instruction.IsFunctionCall || (instruction.IsLoadImm64 && (byte)instruction.Source == OpCodes.PseudoFunc))
                function.Calls.Add((i, Callee(function, i, section, (long)sectionIndex + instruction.Immediate + 1)));
            else if (instruction.OpCode == OpCodes.Call && (byte)instruction.Source == PseudoKernelFunctionCall)
                throw Fail(function, i, "calls a kfunc; kfuncs are not supported");

            if (instruction.IsLoadImm64)
            {
                i++; // The second slot holds the upper 32 bits only.
                if (relocations is not null && relocations.ContainsKey(sectionIndex + 1))
                    throw Fail(function, i, "a relocation applies to the second half of a 64-bit immediate load", malformed: true);
            }
        }
    }

    private void ApplyRelocation(Function function, int index, ElfRelocation relocation)
    {
        var instruction = function.Instructions[index];
        var symbol = _elf.Symbols[(int)relocation.SymbolIndex];
        var symbolName = symbol.Name.Length > 0 ? symbol.Name : _elf.SectionOf(symbol)?.Name ?? $"#{symbol.Index}";
        switch (relocation.Type)
        {
            case RelocationBpf64_64:
            {
                if (!instruction.IsLoadImm64)
                    throw Fail(function, index, $"an R_BPF_64_64 relocation against {symbolName} applies to an instruction that is not a 64-bit immediate load", malformed: true);
                var target = TargetSection(function, index, symbol, symbolName, "refers to");
                // REL relocations keep their addend in the immediate: for section symbols (static variables) it is
                // the variable's offset in the section.
                var offset = (long)symbol.Value + instruction.Immediate + relocation.Addend;
                if (target == _btfMapsSection || target == _legacyMapsSection)
                {
                    if (!_mapsByLocation.TryGetValue((target.Index, offset), out var mapName))
                        throw Fail(function, index, $"refers to byte {offset} of {target.Name} ({symbolName}), where no map starts", malformed: true);
                    function.References.Add(new MapReference(index, mapName));
                    SetMapLoad(function, index, OpCodes.PseudoMapFd, 0);
                }
                else if (_dataMapsBySection.TryGetValue(target.Index, out var dataMap))
                {
                    if (offset < 0 || (ulong)offset >= target.Size)
                        throw Fail(function, index, $"refers to byte {offset} of {target.Name} ({symbolName}), outside its {target.Size} bytes", malformed: true);
                    function.References.Add(new MapReference(index, dataMap, (int)offset, IsValue: true));
                    SetMapLoad(function, index, OpCodes.PseudoMapValue, (int)offset);
                }
                else if (_functionsBySection.ContainsKey(target.Index) && (byte)instruction.Source == OpCodes.PseudoFunc)
                {
                    // A callback's address (bpf_loop, bpf_for_each_map_elem): the addend is a byte offset.
                    if (offset % InstructionSize != 0)
                        throw Fail(function, index, $"takes the address of byte {offset} of {target.Name}, which is not an instruction", malformed: true);
                    function.Calls.Add((index, Callee(function, index, target, offset / InstructionSize)));
                }
                else
                {
                    throw Fail(function, index, $"refers to {symbolName} in section {target.Name}, which is neither a map, global data (.rodata, .data, .bss) nor code");
                }
                break;
            }
            case RelocationBpf64_32:
            {
                if (symbol.IsUndefined && instruction.OpCode == OpCodes.Call)
                    throw Fail(function, index, $"calls {symbolName}, an extern function (a kfunc); kfuncs are not supported");
                if (!instruction.IsFunctionCall)
                    throw Fail(function, index, $"an R_BPF_64_32 relocation against {symbolName} applies to an instruction that is not a bpf-to-bpf call", malformed: true);
                var target = TargetSection(function, index, symbol, symbolName, "calls");
                if (!_functionsBySection.ContainsKey(target.Index))
                    throw Fail(function, index, $"calls {symbolName} in section {target.Name}, which is not code");
                // For a call against a section symbol (static functions) the immediate points at the callee
                // (relative to the next instruction); against a function symbol it is -1: both give this.
                var calleeIndex = ((long)symbol.Value + relocation.Addend) / InstructionSize + instruction.Immediate + 1;
                function.Calls.Add((index, Callee(function, index, target, calleeIndex)));
                break;
            }
            case RelocationBpf64Abs64 or RelocationBpf64Abs32 or RelocationBpf64NoDyld32:
                throw Fail(function, index, $"a data relocation (type {relocation.Type}) against {symbolName} applies to code; this object was not built for the BPF target as expected");
            default:
                throw Fail(function, index, $"relocation type {relocation.Type} against {symbolName} is not supported");
        }
    }

    /// <summary>Marks the load the way the assembler writes it: a pseudo map source, no fd yet, the value offset in the second slot.</summary>
    private static void SetMapLoad(Function function, int index, byte pseudoSource, int offset)
    {
        function.Instructions[index] = function.Instructions[index].WithSource((Register)pseudoSource).WithImmediate(0);
        function.Instructions[index + 1] = function.Instructions[index + 1].WithImmediate(offset);
    }

    private ElfSection TargetSection(Function function, int index, ElfSymbol symbol, string symbolName, string verb)
    {
        if (symbol.IsUndefined)
            throw Fail(function, index, $"{verb} {symbolName}, an extern symbol; externs (kfuncs, __ksym and __kconfig variables) are not supported");
        return _elf.SectionOf(symbol)
            ?? throw Fail(function, index, $"{verb} {symbolName}, which is not defined in a section (absolute or common symbols are not supported)");
    }

    private Function Callee(Function caller, int index, ElfSection section, long calleeIndex)
    {
        if (calleeIndex < 0 || calleeIndex > int.MaxValue || !_functionsByStart.TryGetValue((section.Index, (int)calleeIndex), out var callee))
            throw Fail(caller, index, $"calls instruction {calleeIndex} of {section.Name}, where no function starts", malformed: true);
        return callee;
    }

    private BpfObjectException Fail(Function function, int index, string problem, bool malformed = false) =>
        new(_elf.ObjectName, function.Section.Name, function.Name, $"instruction {index}: " + (malformed ? "malformed ELF object: " : "") + problem,
            malformed ? BpfErrorReason.InvalidArgument : BpfErrorReason.NotSupported);

    /// <summary>
    /// Builds a program: its own instructions, then each function it reaches through calls (once, in the order
    /// first reached), with the call immediates set to the callee's new position and map references moved along.
    /// </summary>
    private ProgramSpec Link(Function program)
    {
        var order = new List<Function> { program };
        var starts = new Dictionary<Function, int> { [program] = 0 };
        var total = program.Length;
        for (var i = 0; i < order.Count; i++)
        {
            foreach (var (_, callee) in order[i].Calls)
            {
                if (starts.ContainsKey(callee))
                    continue;
                starts[callee] = total;
                total += callee.Length;
                order.Add(callee);
            }
        }

        var instructions = new Instruction[total];
        var references = new List<MapReference>();
        foreach (var function in order)
        {
            var start = starts[function];
            function.Instructions.CopyTo(instructions, start);
            foreach (var reference in function.References)
                references.Add(reference with { InstructionIndex = reference.InstructionIndex + start });
            foreach (var (index, callee) in function.Calls)
            {
                // Calls and function address loads both count from the instruction after the call.
                var at = start + index;
                instructions[at] = instructions[at].WithImmediate(starts[callee] - (at + 1));
            }
        }

        ProgramSections.TryResolve(program.Section.Name, out var type, out var attachType);
        return new ProgramSpec
        {
            Name = program.Name,
            Type = type,
            ExpectedAttachType = attachType,
            License = _license,
            Instructions = instructions,
            MapReferences = references,
            SectionName = program.Section.Name,
        };
    }
}
