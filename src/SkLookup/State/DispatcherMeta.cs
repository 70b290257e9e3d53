using System.Buffers.Binary;
using System.Text;
using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.State;

/// <summary>
/// Which version built the state and last swapped the program: the value at key 0 of <see cref="ControlLayout.Meta"/>.
/// </summary>
/// <param name="LayoutVersion">The <see cref="DispatcherLayout.Version"/> of the maps.</param>
/// <param name="Generation">Counts program swaps and binding-set replacements.</param>
/// <param name="ProgramTag">The kernel's tag of the program this control plane last attached (16 hex digits).</param>
/// <param name="PreviousProgramTag">The tag of the program that one replaced. The record is written before the link update, so after a crash the attached program is one of the two.</param>
/// <param name="Fingerprint">The <see cref="DispatcherShape.Fingerprint"/> that program was generated from.</param>
/// <param name="GeneratorVersion">The <see cref="DispatcherShape.GeneratorVersion"/> that generated it.</param>
/// <param name="WriteInProgress">
/// Set while a single binding change updates the maps and the program's probe tables in place, which
/// takes several steps; a writer that finds it set after a crash rebuilds the maps and the program.
/// </param>
/// <param name="Kind">Which command set <paramref name="WriteInProgress"/>, so that readers can say what was interrupted.</param>
/// <param name="RegistrationsMixed">
/// Set when a register that updates several sockets (two families, or several sockets passed) was interrupted
/// after some of them: the kernel cannot swap several socket entries at once, and no one can get the replaced
/// sockets back, so the next register of the label is the repair. Cleared by the next such register.
/// </param>
/// <param name="SummaryValid">
/// Set when <see cref="ControlLayout.Summary"/> counts exactly the bindings in the binding maps (while no write is in
/// progress). Every write of this version keeps it so; a version that knows nothing of the summary drops the bit the
/// first time it writes the record, so its changes, which do not update the summary, make the summary untrusted, and
/// the next writer of this version rebuilds it from the binding maps.
/// </param>
/// <remarks>
/// Layout (80 bytes): layout version u32, flags u32 (bit 0: write in progress, bit 1: registrations mixed, bit 2: summary valid, bits 8 to
/// 15: the <see cref="WriteKind"/>; readers that know only bit 0 ignore the rest), generation u64, tag [8], previous tag [8], fingerprint [16],
/// generator version (UTF-8, zero-filled) [32]. Its size is part of <see cref="DispatcherLayout.Version"/>:
/// a version that cannot read it must treat the state as foreign.
/// </remarks>
internal sealed record DispatcherMeta(uint LayoutVersion, ulong Generation, string ProgramTag, string PreviousProgramTag, string Fingerprint, string GeneratorVersion, bool WriteInProgress = false,
    WriteKind Kind = WriteKind.None, bool RegistrationsMixed = false, bool SummaryValid = false)
{
    /// <summary>The value size.</summary>
    public const int Size = 80;

    private const uint WriteInProgressFlag = 1;
    private const uint RegistrationsMixedFlag = 2;
    private const uint SummaryValidFlag = 4;

    private static readonly byte[] Key = new byte[4];

    /// <summary>Reads the record; null if the map has none or is not a meta map of this shape.</summary>
    public static DispatcherMeta? Read(BpfMap map)
    {
        if (map.ValueSize != Size || map.KeySize != 4)
            return null;
        var value = map.Lookup(Key);
        if (value is null || value.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            return null; // Never written.
        var generator = value.AsSpan(48, 32);
        var end = generator.IndexOf((byte)0);
        return new DispatcherMeta(
            BinaryPrimitives.ReadUInt32LittleEndian(value),
            BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(8)),
            Convert.ToHexStringLower(value.AsSpan(16, 8)),
            Convert.ToHexStringLower(value.AsSpan(24, 8)),
            Convert.ToHexStringLower(value.AsSpan(32, 16)),
            Encoding.UTF8.GetString(end < 0 ? generator : generator[..end]),
            (BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan(4)) & WriteInProgressFlag) != 0,
            (WriteKind)(byte)(BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan(4)) >> 8),
            (BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan(4)) & RegistrationsMixedFlag) != 0,
            (BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan(4)) & SummaryValidFlag) != 0);
    }

    /// <summary>Writes the record.</summary>
    public void Write(BpfMap map)
    {
        var value = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(value, LayoutVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(4),
            (WriteInProgress ? WriteInProgressFlag : 0) | (RegistrationsMixed ? RegistrationsMixedFlag : 0) | (SummaryValid ? SummaryValidFlag : 0) | (uint)(byte)Kind << 8);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(8), Generation);
        WriteHex(ProgramTag, value.AsSpan(16, 8));
        WriteHex(PreviousProgramTag, value.AsSpan(24, 8));
        WriteHex(Fingerprint, value.AsSpan(32, 16));
        var generator = Encoding.UTF8.GetBytes(GeneratorVersion);
        generator.AsSpan(0, Math.Min(generator.Length, 31)).CopyTo(value.AsSpan(48));
        map.Update(Key, value);
    }

    /// <summary>The record for a program this version just attached.</summary>
    public static DispatcherMeta Current(ulong generation, string programTag, string previousProgramTag, string fingerprint) =>
        new(DispatcherLayout.Version, generation, programTag, previousProgramTag, fingerprint, DispatcherShape.GeneratorVersion);

    /// <summary>True if <paramref name="tag"/> is the tag of a program this record says was attached by its writer.</summary>
    public bool Knows(string tag) =>
        string.Equals(tag, ProgramTag, StringComparison.OrdinalIgnoreCase) || string.Equals(tag, PreviousProgramTag, StringComparison.OrdinalIgnoreCase);

    /// <summary>A short description, e.g. "sk_dispatcher/1 (layout 1)".</summary>
    public string VersionText => $"{GeneratorVersion} (layout {LayoutVersion})";

    private static void WriteHex(string hex, Span<byte> destination)
    {
        destination.Clear();
        if (hex.Length == destination.Length * 2)
            Convert.FromHexString(hex, destination, out _, out _);
    }
}
