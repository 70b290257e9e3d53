using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace SkLookup.Bpf.Interop;

/// <summary>
/// A test hook, not a feature: with <c>SKLOOKUP_TEST_KILL_AT=N</c> in the environment, the process sends itself
/// SIGKILL just before its Nth state-changing step (a mutating <c>bpf(2)</c> command, a rename, mkdir or unlink
/// in bpffs), as a crash at that instant would. The kill-point suite (tests/SkLookup.Cli.Tests/KillPoints) sweeps
/// N from 1 until a command finishes, which covers every step boundary of every command without a list of them.
/// SkLookup's own steps go through <see cref="BpfFileSystem"/>, so one counter numbers them all. Without the
/// variable, each step costs one read of a static field.
/// </summary>
internal static class KillPoints
{
    /// <summary>The environment variable the hook reads, once per process.</summary>
    public const string Variable = "SKLOOKUP_TEST_KILL_AT";

    private static readonly int s_killAt = Arm();
    private static int s_steps;

    /// <summary>
    /// Counts one step, and kills the process if it is the one <see cref="Variable"/> names. The step is named
    /// as "<paramref name="verb"/> <paramref name="detail"/>", formatted only then: unarmed, a step allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step<T>(string verb, T detail)
    {
        if (s_killAt > 0)
            Count($"{verb} {detail}");
    }

    private static void Count(string what)
    {
        var step = Interlocked.Increment(ref s_steps);
        if (step != s_killAt)
            return;
        Console.Error.WriteLine($"sklookup: test hook {Variable}: killed before step {step} ({what})");
        Console.Error.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    private static int Arm()
    {
        var text = Environment.GetEnvironmentVariable(Variable);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var at) && at > 0 ? at : 0;
    }
}
