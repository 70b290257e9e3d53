using SkLookup.Bpf;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.TestKit;

/// <summary>Small sk_lookup programs that many tests need, written once.</summary>
public static class TestPrograms
{
    /// <summary>
    /// Selects the socket at key 0 of the SOCKMAP <paramref name="mapName"/> and returns
    /// <paramref name="verdict"/>; with an empty slot it returns the verdict without a selection, and
    /// when <c>bpf_sk_assign</c> refuses the socket it drops.
    /// </summary>
    public static ProgramSpec AssignFromSockMap(string programName, SkAction verdict = SkAction.Pass, string mapName = "sockets") => new Assembler()
        .Mov(R6, R1)
        .Store(Size.Word, R10, -4, 0)
        .LoadMapPointer(R1, mapName).Mov(R2, R10).Add(R2, -4)
        .Call(HelperFunction.MapLookupElem)
        .JumpIf(R0, JumpOp.Equal, 0, "out")
        .AssignSocket(context: R6, socket: R7, result: R8, failed: "drop")
        .Label("out").Return(verdict)
        .Label("drop").Return(SkAction.Drop)
        .Build(programName);
}
