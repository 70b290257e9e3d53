using System.IO.Compression;

namespace SkLookup.Benchmarks.Machine;

/// <summary>The few kernel build options that change what the benchmark's CPU-time figures mean.</summary>
internal static class KernelConfig
{
    private static readonly Lazy<IReadOnlyDictionary<string, string>?> Options = new(Read);

    /// <summary>
    /// CONFIG_IRQ_TIME_ACCOUNTING: true if the kernel accounts softirq time apart from the task it
    /// interrupted (then a thread's CPU time excludes the packets it delivered in softirq), false if
    /// it charges it to the task, null if the configuration cannot be read.
    /// </summary>
    public static bool? IrqTimeAccounting => Options.Value is { } options ? options.TryGetValue("CONFIG_IRQ_TIME_ACCOUNTING", out var value) && value == "y" : null;

    private static IReadOnlyDictionary<string, string>? Read()
    {
        try
        {
            if (File.Exists("/proc/config.gz"))
            {
                using var file = File.OpenRead("/proc/config.gz");
                using var gzip = new GZipStream(file, CompressionMode.Decompress);
                using var reader = new StreamReader(gzip);
                return Parse(reader.ReadToEnd());
            }
            var boot = $"/boot/config-{File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}";
            return File.Exists(boot) ? Parse(File.ReadAllText(boot)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static Dictionary<string, string> Parse(string text)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var equals = line.IndexOf('=');
            if (equals > 0 && line.StartsWith("CONFIG_", StringComparison.Ordinal))
                options[line[..equals]] = line[(equals + 1)..];
        }
        return options;
    }
}
