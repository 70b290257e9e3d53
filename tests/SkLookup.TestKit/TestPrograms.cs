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
        .Mov(R7, R0)
        .Mov(R1, R6).Mov(R2, R7).Mov(R3, 0).Call(HelperFunction.SkAssign)
        .Mov(R8, R0)
        .Mov(R1, R7).Call(HelperFunction.SkRelease)
        .JumpIf(R8, JumpOp.NotEqual, 0, "drop")
        .Label("out").Return(verdict)
        .Label("drop").Return(SkAction.Drop)
        .Build(programName);
}
