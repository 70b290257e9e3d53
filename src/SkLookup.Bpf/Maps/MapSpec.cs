namespace SkLookup.Bpf;

/// <summary>How a map is pinned when a collection is loaded.</summary>
public enum MapPinning
{
    /// <summary>Not pinned.</summary>
    None = 0,
    /// <summary>LIBBPF_PIN_BY_NAME: pinned as <c>ROOT/NAME</c>, and reused if a compatible map is there.</summary>
    ByName = 1,
}

/// <summary>
/// A plain description of a map: built, compared and printed without a kernel. <see cref="BpfMap.Create"/>
/// turns it into a kernel object.
/// </summary>
public sealed record MapSpec
{
    /// <summary>The map's name; the kernel keeps its first 15 characters.</summary>
    public required string Name { get; init; }

    /// <summary>The map type.</summary>
    public required MapType Type { get; init; }

    /// <summary>Size of a key in bytes.</summary>
    public required uint KeySize { get; init; }

    /// <summary>Size of a value in bytes (per CPU, for per-CPU maps).</summary>
    public required uint ValueSize { get; init; }

    /// <summary>Maximum number of entries.</summary>
    public required uint MaxEntries { get; init; }

    /// <summary>Creation flags.</summary>
    public MapFlags Flags { get; init; }

    /// <summary>How the map is pinned when it is part of a loaded collection.</summary>
    public MapPinning Pinning { get; init; }

    /// <summary>Entries written right after creation (global data sections use key 0).</summary>
    public IReadOnlyList<KeyValuePair<byte[], byte[]>> Contents { get; init; } = [];

    /// <summary>Freeze the map after writing <see cref="Contents"/>, so programs see constants (<c>.rodata</c>).</summary>
    public bool Freeze { get; init; }

    /// <summary>The kernel's view of the name: cut to 15 characters, with the characters it rejects removed.</summary>
    public string KernelName => SanitizeName(Name);

    internal static string SanitizeName(string name)
    {
        // The kernel accepts only [A-Za-z0-9_.] in object names.
        Span<char> kept = stackalloc char[Math.Min(name.Length, Interop.BpfSyscall.ObjectNameMaxLength)];
        var count = 0;
        foreach (var c in name)
        {
            if (count == kept.Length)
                break;
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.')
                kept[count++] = c;
        }
        return new string(kept[..count]);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Type} '{Name}' key {KeySize} value {ValueSize} max {MaxEntries}" + (Flags != 0 ? $" flags {Flags}" : "");
}
