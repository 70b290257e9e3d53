using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace SkLookup.Bpf.Interop;

/// <summary>
/// A test hook, not a feature: with <c>SKLOOKUP_TEST_KILL_AT=N</c> in the environment, the process sends itself
/// SIGKILL just before its Nth state-changing step (a mutating <c>bpf(2)</c> command, a rename, mkdir or unlink
/// in bpffs), as a crash at that instant would. The kill-point suite (tests/SkLookup.Cli.Tests/KillPoints) sweeps
/// N from 1 until a command finishes, which covers every step boundary of every command without a list of them.
/// Without the variable, each step costs one read of a static field.
/// </summary>
/// <remarks>
/// The counter is shared with SkLookup's own steps through <see cref="AppContext"/>, so both assemblies count in
/// one sequence (neither sees the other's internals).
/// </remarks>
internal static class KillPoints
{
    /// <summary>The environment variable the hook reads, once per process.</summary>
    public const string Variable = "SKLOOKUP_TEST_KILL_AT";

    private const string Slot = "SkLookup.Test.KillPointCounter";

    private static readonly StrongBox<int>? s_counter = Arm();
    private static readonly int s_killAt;

    static KillPoints()
    {
        if (s_counter is not null)
            s_killAt = int.Parse(Environment.GetEnvironmentVariable(Variable)!, CultureInfo.InvariantCulture);
    }

    /// <summary>Counts one step, and kills the process if it is the one <see cref="Variable"/> names.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step(string what)
    {
        if (s_counter is not null)
            Count(what);
    }

    private static void Count(string what)
    {
        var step = Interlocked.Increment(ref s_counter!.Value);
        if (step != s_killAt)
            return;
        Console.Error.WriteLine($"sklookup: test hook {Variable}: killed before step {step} ({what})");
        Console.Error.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    private static StrongBox<int>? Arm()
    {
        var text = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var at) || at <= 0)
            return null;
        lock (typeof(AppContext))
        {
            if (AppContext.GetData(Slot) is not StrongBox<int> counter)
            {
                counter = new StrongBox<int>(0);
                AppContext.SetData(Slot, counter);
            }
            return counter;
        }
    }
}
