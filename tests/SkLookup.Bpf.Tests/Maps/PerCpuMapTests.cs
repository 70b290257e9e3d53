using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests;

/// <summary>PERCPU_ARRAY values hold one slot per possible CPU; LookupPerCpu reads them and SumPerCpu adds them up.</summary>
public sealed class PerCpuMapTests
{
    private static readonly MapSpec s_counters = new() { Name = "counters", Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 8, MaxEntries = 2 };

    [Fact]
    public void UserSpaceSeesOneSlotPerPossibleCpu()
    {
        using var map = BpfMap.Create(s_counters);
        var cpus = PossibleCpus.Count;
        Assert.Equal(8 * cpus, map.ValueSize);
        var value = Keys.Concat(cpus, cpu => Keys.U64((ulong)cpu + 1));

        map.Update(Keys.U32(1), value);

        Assert.Equal(Enumerable.Range(1, cpus).Select(n => (ulong)n), map.LookupPerCpu<ulong>(Keys.U32(1)));
        Assert.Equal((ulong)(cpus * (cpus + 1) / 2), Assert.Single(map.SumPerCpu(Keys.U32(1))));
        Assert.Equal(0ul, Assert.Single(map.SumPerCpu(Keys.U32(0))));
    }

    [Fact]
    public void SumPerCpuCountsEveryRunOfAProgram()
    {
        // counters[0] += 1 on whatever CPU the program runs.
        var spec = new Assembler()
            .Store(Size.Word, R10, -4, 0)
            .LoadMapPointer(R1, "counters").Mov(R2, R10).Add(R2, -4)
            .Call(HelperFunction.MapLookupElem)
            .JumpIf(R0, JumpOp.Equal, 0, "out")
            .Mov(R1, 1)
            .AtomicAdd(Size.DoubleWord, R0, 0, R1)
            .Label("out").Return(SkAction.Pass)
            .Build("count_runs");
        using var map = BpfMap.Create(s_counters);
        using var program = BpfProgram.Load(spec, new Dictionary<string, BpfMap> { ["counters"] = map });
        var input = new SkLookupTestInput(ProtocolType.Tcp, new IPEndPoint(IPAddress.Loopback, 40000), new IPEndPoint(IPAddress.Loopback, 80));

        program.TestRun(input, repeat: 25);
        program.TestRun(input, repeat: 5);

        Assert.Equal(30ul, Assert.Single(map.SumPerCpu(Keys.U32(0))));
        Assert.Equal(30ul, map.LookupPerCpu<ulong>(Keys.U32(0)).Aggregate(0ul, (sum, n) => sum + n));
    }

    [Fact]
    public void PerCpuReadsRefuseOtherMapsAndSizes()
    {
        using var perCpu = BpfMap.Create(s_counters);
        using var array = BpfMap.Create(s_counters with { Type = MapType.Array });

        Assert.Throws<InvalidOperationException>(() => array.LookupPerCpu<ulong>(Keys.U32(0)));
        Assert.Throws<InvalidOperationException>(() => array.SumPerCpu(Keys.U32(0)));
        Assert.Throws<ArgumentException>(() => perCpu.LookupPerCpu<uint>(Keys.U32(0)));
    }
}
