using SkLookup.Bpf.Asm;
using SkLookup.TestKit;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests;

/// <summary>Loading programs: verifier rejections with their whole log, program info, pinning and opening.</summary>
public sealed class ProgramLoadTests
{
    private static ProgramSpec ReadsFamilyAsEightBytes(int paddingInstructions = 0)
    {
        var asm = new Assembler().Mov(R0, 0);
        for (var i = 0; i < paddingInstructions; i++)
            asm.Add(R0, 1);
        // An 8-byte load of a u32 context field: the verifier refuses it.
        return asm.Load(Size.DoubleWord, R2, R1, SkLookupContext.Family).Return(SkAction.Pass).Build("bad_ctx_read");
    }

    [Fact]
    public void VerifierRejectionCarriesTheLogAndEndsWithItsLastLines()
    {
        var error = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(ReadsFamilyAsEightBytes()));

        Assert.Equal(BpfErrorReason.VerifierRejected, error.Reason);
        Assert.Equal(Errno.EACCES, error.Errno);
        Assert.Equal("bad_ctx_read", error.ProgramName);
        Assert.Contains("invalid bpf_context access", error.Log);
        var lastLine = error.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        Assert.EndsWith(lastLine, error.Message);
        Assert.Contains("invalid bpf_context access", error.Message);
        Assert.StartsWith("load program 'bad_ctx_read': verifier rejected it (EACCES)", error.Message);
    }

    [Fact]
    public void LogLongerThanTheFirstBufferIsReadWhole()
    {
        // Each instruction the verifier walks adds a line to the log: 6000 of them need far more than 64 KiB.
        var error = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(ReadsFamilyAsEightBytes(paddingInstructions: 6000)));

        Assert.True(error.Log.Length > 64 * 1024, $"log is only {error.Log.Length} bytes");
        // The beginning is there: the kernel did not rotate it away. (6.x logs the state first, "0: R1=ctx()";
        // 5.10 starts with the instruction.)
        Assert.StartsWith("0: ", error.Log);
        Assert.Contains("0: (b7) r0 = 0", error.Log);
        Assert.Contains("6000: (07) r0 += 1", error.Log);
        Assert.Contains("invalid bpf_context access", error.Log);
        Assert.Contains("invalid bpf_context access", error.Message);
    }

    [Fact]
    public void ProgramInfoReportsIdTagAndName()
    {
        using var program = BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build("a_rather_long_program_name"));

        var info = program.Info;
        var fdinfo = File.ReadAllLines($"/proc/self/fdinfo/{program.Handle.Value}");

        Assert.NotEqual(0u, info.Id);
        Assert.Equal(ProgramType.SkLookup, info.Type);
        Assert.Equal("a_rather_long_p", info.Name);
        Assert.Matches("^[0-9a-f]{16}$", info.Tag);
        Assert.Contains($"prog_tag:\t{info.Tag}", fdinfo);
        Assert.Contains($"prog_id:\t{info.Id}", fdinfo);
        if (SkLookup.Bpf.Features.KernelVersion.Current >= new Version(5, 16))
            Assert.True(info.VerifiedInstructions > 0); // bpf_prog_info.verified_insns came in 5.16; older kernels leave it 0.
        Assert.Equal(0u, info.MapIdsCount);
    }

    [Fact]
    public void ProgramInfoCountsTheMapsItUses()
    {
        using var map = BpfMap.Create(new MapSpec { Name = "sockets", Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        var spec = new Assembler()
            .Store(Size.Word, R10, -4, 0)
            .LoadMapPointer(R1, "sockets").Mov(R2, R10).Add(R2, -4)
            .Call(HelperFunction.MapLookupElem)
            .JumpIf(R0, JumpOp.Equal, 0, "out")
            .Mov(R1, R0).Call(HelperFunction.SkRelease)
            .Label("out").Return(SkAction.Pass)
            .Build("uses_a_map");

        using var program = BpfProgram.Load(spec, new Dictionary<string, BpfMap> { ["sockets"] = map });

        Assert.Equal(1u, program.Info.MapIdsCount);
    }

    [Fact]
    public void MissingMapIsNamed()
    {
        var spec = new Assembler().LoadMapPointer(R1, "nowhere").Return(SkAction.Pass).Build("needs_a_map");

        var error = Assert.Throws<BpfException>(() => BpfProgram.Load(spec));

        Assert.Equal(BpfErrorReason.NotFound, error.Reason);
        Assert.Contains("'nowhere'", error.Message);
    }

    [Fact]
    public void PinnedProgramCanBeOpenedAgain()
    {
        using var bpffs = new TestBpfFs();
        uint id;
        using (var program = BpfProgram.Load(new Assembler().Return(SkAction.Drop).Build("pinned")))
        {
            program.Pin(bpffs["prog"]);
            id = program.Info.Id;
        }

        using var reopened = BpfProgram.OpenPinned(bpffs["prog"]);
        using var byId = BpfProgram.OpenById(id);

        Assert.Equal(id, reopened.Info.Id);
        Assert.Equal(id, byId.Info.Id);
        Assert.Equal("pinned", reopened.Info.Name);
    }

    [Fact]
    public void RunCountGrowsWhileStatsAreOn()
    {
        using var program = BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build("counted"));
        var input = new SkLookupTestInput(System.Net.Sockets.ProtocolType.Tcp,
            new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 40000), new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 80));

        using (BpfStats.Enable())
        {
            var before = program.RefreshInfo();
            program.TestRun(input, repeat: 50);
            var after = program.RefreshInfo();

            Assert.True(after.RunCount >= before.RunCount + 50, $"run count went from {before.RunCount} to {after.RunCount}");
            Assert.True(after.RunTimeNs > before.RunTimeNs, "run time should grow with the runs");
        }
    }
}
