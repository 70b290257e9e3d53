using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Benchmarks.Programs;

/// <summary>The cheapest sk_lookup program: <c>return SK_PASS;</c>. Its cost is the price of the hook itself.</summary>
internal static class NoOpProgram
{
    /// <summary>The program, two instructions long.</summary>
    public static ProgramSpec Spec { get; } = new Assembler().Return(SkAction.Pass).Build("bench_noop");

    /// <summary>Loads the program.</summary>
    public static BpfProgram Load() => BpfProgram.Load(Spec);
}
