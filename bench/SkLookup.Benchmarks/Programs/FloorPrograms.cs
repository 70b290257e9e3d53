using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Benchmarks.Programs;

/// <summary>
/// Programs that show what any steering program pays at least on this machine: one helper call, and the
/// part of a hit the kernel mandates (the SOCKMAP lookup, <c>bpf_sk_assign</c> and <c>bpf_sk_release</c>).
/// </summary>
internal static class FloorPrograms
{
    /// <summary>The name of the sockets map <see cref="AssignSpec"/> reads.</summary>
    public const string SocketsMap = "sockets";

    /// <summary><c>bpf_get_numa_node_id</c>, which our <see cref="HelperFunction"/> does not list: the kernel's number.</summary>
    private const HelperFunction GetNumaNodeId = (HelperFunction)42;

    /// <summary>
    /// Calls <c>bpf_get_numa_node_id</c> (a helper that only reads a per-CPU variable and that the verifier
    /// does not inline) and returns SK_PASS: the price of one helper call, call and return.
    /// </summary>
    public static ProgramSpec HelperCallSpec { get; } = new Assembler()
        .Call(GetNumaNodeId)
        .Return(SkAction.Pass)
        .Build("bench_one_call");

    /// <summary>
    /// Looks up slot 0 of the sockets map and assigns it: the delivery every steering program ends with,
    /// and nothing else (no matching at all).
    /// </summary>
    public static ProgramSpec AssignSpec { get; } = new Assembler()
        .Mov(R6, R1)
        .Store(Size.Word, R10, -4, 0)
        .LoadMapPointer(R1, SocketsMap).Mov(R2, R10).Add(R2, -4)
        .Call(HelperFunction.MapLookupElem)
        .JumpIf(R0, JumpOp.Equal, 0, "drop")
        .AssignSocket(context: R6, socket: R7, result: R8, failed: "drop")
        .Return(SkAction.Pass)
        .Label("drop").Return(SkAction.Drop)
        .Build("bench_assign");
}
