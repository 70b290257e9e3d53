using SkLookup.Bpf.Asm;

namespace SkLookup.Bpf;

/// <summary>
/// A reference from an LD_IMM64 instruction to a map, resolved when the program is loaded:
/// the map's fd (<c>BPF_PSEUDO_MAP_FD</c>) or an address in its value (<c>BPF_PSEUDO_MAP_VALUE</c>).
/// </summary>
/// <param name="InstructionIndex">The index of the first slot of the LD_IMM64.</param>
/// <param name="MapName">The map's name in the collection.</param>
/// <param name="Offset">For value references, the byte offset into the value.</param>
/// <param name="IsValue">True for a value reference (global data), false for a map pointer.</param>
public readonly record struct MapReference(int InstructionIndex, string MapName, int Offset = 0, bool IsValue = false);

/// <summary>
/// A plain description of a program: its instructions and the maps they refer to. The assembler and
/// the ELF loader produce it; <see cref="BpfProgram.Load"/> turns it into a kernel object.
/// </summary>
public sealed record ProgramSpec
{
    /// <summary>The program's name; the kernel keeps its first 15 characters.</summary>
    public required string Name { get; init; }

    /// <summary>The program type.</summary>
    public required ProgramType Type { get; init; }

    /// <summary>The attach type the program is verified for (<c>expected_attach_type</c>).</summary>
    public AttachType ExpectedAttachType { get; init; }

    /// <summary>The license; GPL-only helpers need a GPL-compatible one.</summary>
    public string License { get; init; } = "GPL";

    /// <summary>The instruction slots, with jumps resolved and map loads still unpatched.</summary>
    public required IReadOnlyList<Instruction> Instructions { get; init; }

    /// <summary>The LD_IMM64 instructions that refer to maps.</summary>
    public IReadOnlyList<MapReference> MapReferences { get; init; } = [];

    /// <summary>The section the program came from, when it was read from an ELF object.</summary>
    public string? SectionName { get; init; }

    /// <summary>The program as bpftool would print it, one instruction per line.</summary>
    public string Disassemble() => Disassembler.Format(Instructions, MapReferences);

    /// <inheritdoc />
    public override string ToString() => $"{Type} program '{Name}' ({Instructions.Count} instructions)";
}

/// <summary>Program types (<c>enum bpf_prog_type</c>), with the kernel's numbering.</summary>
public enum ProgramType : uint
{
    /// <summary>BPF_PROG_TYPE_UNSPEC.</summary>
    Unspecified = 0,
    /// <summary>BPF_PROG_TYPE_SOCKET_FILTER.</summary>
    SocketFilter = 1,
    /// <summary>BPF_PROG_TYPE_SCHED_CLS.</summary>
    SchedClassifier = 3,
    /// <summary>BPF_PROG_TYPE_XDP.</summary>
    Xdp = 6,
    /// <summary>BPF_PROG_TYPE_SK_REUSEPORT.</summary>
    SkReuseport = 21,
    /// <summary>BPF_PROG_TYPE_SK_LOOKUP.</summary>
    SkLookup = 30,
}

/// <summary>Attach types (<c>enum bpf_attach_type</c>), with the kernel's numbering.</summary>
public enum AttachType : uint
{
    /// <summary>No expected attach type (BPF_CGROUP_INET_INGRESS, numerically 0).</summary>
    None = 0,
    /// <summary>BPF_FLOW_DISSECTOR.</summary>
    FlowDissector = 17,
    /// <summary>BPF_SK_LOOKUP.</summary>
    SkLookup = 36,
    /// <summary>BPF_SK_REUSEPORT_SELECT.</summary>
    SkReuseportSelect = 39,
    /// <summary>BPF_SK_REUSEPORT_SELECT_OR_MIGRATE.</summary>
    SkReuseportSelectOrMigrate = 40,
}
