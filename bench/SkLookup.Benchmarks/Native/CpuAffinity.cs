using System.Runtime.InteropServices;

namespace SkLookup.Benchmarks.Native;

/// <summary>
/// Pins the calling thread to CPUs. <c>sched_setaffinity(0, ...)</c> acts on the calling thread only,
/// and threads it starts later inherit its mask, so a pin is undone with <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class CpuAffinity : IDisposable
{
    private readonly ulong[] _previous;

    private CpuAffinity(ulong[] previous) => _previous = previous;

    /// <summary>The CPUs this thread may run on now.</summary>
    public static IReadOnlyList<int> AllowedCpus()
    {
        var mask = Read();
        var cpus = new List<int>();
        for (var cpu = 0; cpu < mask.Length * 64; cpu++)
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) != 0)
                cpus.Add(cpu);
        return cpus;
    }

    /// <summary>Pins the calling thread to <paramref name="cpu"/>; dispose to restore its previous mask.</summary>
    public static CpuAffinity PinCurrentThread(int cpu)
    {
        var previous = Read();
        var mask = new ulong[LinuxNative.CpuSetWords];
        mask[cpu / 64] = 1UL << (cpu % 64);
        Write(mask, $"pin the thread to CPU {cpu}");
        return new CpuAffinity(previous);
    }

    /// <summary>The CPU the calling thread runs on right now.</summary>
    public static int CurrentCpu() => LinuxNative.SchedGetCpu();

    public void Dispose() => Write(_previous, "restore the thread's CPU mask");

    private static ulong[] Read()
    {
        var mask = new ulong[LinuxNative.CpuSetWords];
        fixed (ulong* pointer = mask)
        {
            if (LinuxNative.SchedGetAffinity(0, (nuint)(mask.Length * 8), pointer) < 0)
                throw new InvalidOperationException($"sched_getaffinity failed: errno {Marshal.GetLastPInvokeError()}");
        }
        return mask;
    }

    private static void Write(ulong[] mask, string what)
    {
        fixed (ulong* pointer = mask)
        {
            if (LinuxNative.SchedSetAffinity(0, (nuint)(mask.Length * 8), pointer) < 0)
                throw new InvalidOperationException($"{what}: sched_setaffinity failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
