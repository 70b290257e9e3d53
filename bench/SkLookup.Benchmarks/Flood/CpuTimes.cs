namespace SkLookup.Benchmarks.Flood;

/// <summary>
/// One CPU's time from <c>/proc/stat</c>, in clock ticks (USER_HZ, 100 per second on Linux).
/// Packet processing that RPS queues to a CPU runs in softirq context there, so it shows as softirq time.
/// </summary>
internal readonly record struct CpuTimes(long User, long Nice, long System, long Idle, long IoWait, long Irq, long SoftIrq, long Steal)
{
    /// <summary>Clock ticks per second as <c>/proc/stat</c> counts them.</summary>
    public const double TicksPerSecond = 100;

    /// <summary>Time the CPU did work (steal excluded: then the hypervisor ran something else).</summary>
    public long Busy => User + Nice + System + Irq + SoftIrq;

    /// <summary>All time accounted.</summary>
    public long Total => User + Nice + System + Idle + IoWait + Irq + SoftIrq + Steal;

    /// <summary>The difference <paramref name="end"/> − <paramref name="start"/>.</summary>
    public static CpuTimes operator -(CpuTimes end, CpuTimes start) => new(end.User - start.User, end.Nice - start.Nice, end.System - start.System,
        end.Idle - start.Idle, end.IoWait - start.IoWait, end.Irq - start.Irq, end.SoftIrq - start.SoftIrq, end.Steal - start.Steal);

    /// <summary>The times of every CPU, by CPU number.</summary>
    public static Dictionary<int, CpuTimes> ReadAll()
    {
        var cpus = new Dictionary<int, CpuTimes>();
        foreach (var line in File.ReadLines("/proc/stat"))
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal) || line.Length < 4 || !char.IsAsciiDigit(line[3]))
                continue;
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = new long[8];
            for (var i = 0; i < values.Length; i++)
                values[i] = long.Parse(fields[i + 1]);
            cpus[int.Parse(fields[0].AsSpan(3))] = new CpuTimes(values[0], values[1], values[2], values[3], values[4], values[5], values[6], values[7]);
        }
        return cpus;
    }
}
