using System.Runtime.InteropServices;

namespace SkLookup.Benchmarks.Machine;

/// <summary>What the benchmark ran on, read from the kernel at run time.</summary>
internal sealed record MachineInfo(string CpuModel, int OnlineCpus, string CpuList, double MemoryGiB, string Kernel, string DotNet, string LoadAverage,
    string ReturnStackMitigation)
{
    /// <summary>Reads /proc/cpuinfo, /proc/meminfo, uname and /proc/loadavg.</summary>
    public static MachineInfo Read()
    {
        var model = "unknown";
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
        {
            if (line.StartsWith("model name", StringComparison.Ordinal))
            {
                model = line[(line.IndexOf(':') + 1)..].Trim();
                break;
            }
        }
        double memoryGiB = 0;
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var kib = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
                memoryGiB = kib / 1024.0 / 1024.0;
                break;
            }
        }
        var kernel = $"{File.ReadAllText("/proc/sys/kernel/ostype").Trim()} {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()} {File.ReadAllText("/proc/sys/kernel/version").Trim()}";
        var cpuList = File.ReadAllText("/sys/devices/system/cpu/online").Trim();
        return new MachineInfo(model, Environment.ProcessorCount, cpuList, memoryGiB, kernel, RuntimeInformation.FrameworkDescription, LoadAverageNow(),
            ReadReturnStackMitigation());
    }

    /// <summary>The file that tells how the kernel mitigates AMD's Speculative Return Stack Overflow.</summary>
    public const string ReturnStackMitigationFile = "/sys/devices/system/cpu/vulnerabilities/spec_rstack_overflow";

    // With "Safe RET", every return in the kernel goes through a thunk, which makes every helper call
    // (call and return) of a BPF program cost several ns: the floor of any steering program here.
    private static string ReadReturnStackMitigation() =>
        File.Exists(ReturnStackMitigationFile) ? File.ReadAllText(ReturnStackMitigationFile).Trim() : "not reported by this kernel";

    /// <summary>The 1, 5 and 15 minute load averages: other work on this machine shows here.</summary>
    public static string LoadAverageNow()
    {
        var parts = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{parts[0]} {parts[1]} {parts[2]}";
    }
}
