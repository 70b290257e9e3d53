using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace SkLookup.State;

/// <summary>
/// The test hook <c>SKLOOKUP_TEST_KILL_AT=N</c> (see SkLookup.Bpf's Interop.KillPoints, which counts the kernel
/// steps) for the steps this assembly takes itself: unlinking pins and removing directories. Both count in one
/// sequence, shared through <see cref="AppContext"/>. Without the variable, a step costs one static field read.
/// </summary>
internal static class KillPoints
{
    private const string Variable = "SKLOOKUP_TEST_KILL_AT";
    private const string Slot = "SkLookup.Test.KillPointCounter";

    private static readonly StrongBox<int>? s_counter = Arm();
    private static readonly int s_killAt;

    static KillPoints()
    {
        if (s_counter is not null)
            s_killAt = int.Parse(Environment.GetEnvironmentVariable(Variable)!, CultureInfo.InvariantCulture);
    }

    /// <summary>Counts one step, and kills the process if it is the one the variable names.</summary>
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
