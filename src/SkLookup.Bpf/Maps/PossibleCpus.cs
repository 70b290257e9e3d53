namespace SkLookup.Bpf;

/// <summary>The CPUs the kernel sizes per-CPU map values for (<c>/sys/devices/system/cpu/possible</c>).</summary>
public static class PossibleCpus
{
    private static readonly Lazy<int> s_count = new(() => Parse(File.ReadAllText("/sys/devices/system/cpu/possible")));

    /// <summary>The number of possible CPUs (the highest possible CPU number plus one).</summary>
    public static int Count => s_count.Value;

    /// <summary>Parses a CPU list such as "0-3,5" into the highest CPU number plus one.</summary>
    public static int Parse(string list)
    {
        var highest = -1;
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = part.IndexOf('-');
            var last = int.Parse(dash < 0 ? part : part[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            highest = Math.Max(highest, last);
        }
        return highest + 1;
    }
}
