using System.Text.Json;

namespace SkLookup.Cli.Tests.Fuzz;

/// <summary>
/// How many trials a fuzz property runs, and where it reports them. CI runs the small default budget; the
/// reliability report (scripts/reliability.sh) raises it with SKLOOKUP_FUZZ_SCALE and collects every
/// property's trials and failures from SKLOOKUP_RELIABILITY_DIR.
/// </summary>
internal static class FuzzBudget
{
    /// <summary>The multiplier of every default trial count (1 unless SKLOOKUP_FUZZ_SCALE says otherwise).</summary>
    public static double Scale { get; } =
        double.TryParse(Environment.GetEnvironmentVariable("SKLOOKUP_FUZZ_SCALE"), System.Globalization.CultureInfo.InvariantCulture, out var scale) && scale > 0 ? scale : 1;

    /// <summary>The trials for a property whose CI budget is <paramref name="ciTrials"/>.</summary>
    public static int Trials(int ciTrials) => Math.Max(1, (int)(ciTrials * Scale));

    /// <summary>Appends one property's result to the reliability report's data, when a report is being made.</summary>
    public static void Record(string category, string property, int trials, int failures, string method)
    {
        var directory = Environment.GetEnvironmentVariable("SKLOOKUP_RELIABILITY_DIR");
        if (string.IsNullOrEmpty(directory))
            return;
        Directory.CreateDirectory(directory);
        var line = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["category"] = category,
            ["property"] = property,
            ["trials"] = trials,
            ["failures"] = failures,
            ["method"] = method,
        });
        lock (typeof(FuzzBudget))
            File.AppendAllText(Path.Combine(directory, "fuzz.jsonl"), line + "\n");
    }
}
