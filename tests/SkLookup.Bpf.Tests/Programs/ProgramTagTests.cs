using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests;

/// <summary>Our tag computation agrees with the running kernel's.</summary>
public sealed class ProgramTagTests
{
    [Fact]
    public void TagOfProgramWithMapReferencesMatchesKernel()
    {
        // Two map references, one at a non-zero fd and one whose second slot the kernel must also zero.
        var spec = new Assembler()
            .Mov(R6, R1)
            .Store(Size.Word, R10, -4, 7)
            .LoadMapPointer(R1, "sockets").Mov(R2, R10).Add(R2, -4)
            .Call(HelperFunction.MapLookupElem)
            .JumpIf(R0, JumpOp.Equal, 0, "pass")
            .Mov(R7, R0)
            .Mov(R1, R6).Mov(R2, R7).Mov(R3, 0).Call(HelperFunction.SkAssign)
            .Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Label("pass")
            .LoadMapPointer(R1, "other").Mov(R2, R10).Add(R2, -4)
            .Call(HelperFunction.MapLookupElem)
            .Return(SkAction.Pass)
            .Build("tag_check", ProgramType.SkLookup, AttachType.SkLookup);
        using var sockets = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 8 });
        using var other = BpfMap.Create(new MapSpec { Name = "other", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 8 });
        using var program = BpfProgram.Load(spec, new Dictionary<string, BpfMap> { ["sockets"] = sockets, ["other"] = other });
        Assert.True(ProgramTag.Matches(spec, program.Info.Tag), $"kernel tag {program.Info.Tag}, computed {ProgramTag.Compute(spec)}");
    }

    [Fact]
    public void DifferentProgramsHaveDifferentTags()
    {
        var pass = new Assembler().Return(SkAction.Pass).Build("pass");
        var drop = new Assembler().Return(SkAction.Drop).Build("drop");
        using var loaded = BpfProgram.Load(pass);
        Assert.True(ProgramTag.Matches(pass, loaded.Info.Tag));
        Assert.False(ProgramTag.Matches(drop, loaded.Info.Tag));
    }
}
