using SkLookup.Benchmarks.Statistics;

namespace SkLookup.Benchmarks.Report;

/// <summary>How the report writes shares and tells a difference from noise.</summary>
internal static class Format
{
    /// <summary>A share as a signed percentage with one decimal.</summary>
    public static string Percent(double share) => $"{share * 100:+0.0;-0.0;0.0}%";

    /// <summary>The mark set after a Δ that this run cannot tell from noise.</summary>
    public const string WithinNoise = " †";

    /// <summary>The note that explains <see cref="WithinNoise"/>.</summary>
    public const string WithinNoiseNote = "† marks a Δ smaller than twice its standard error (√(s₁²/n₁ + s₂²/n₂) over the runs): in this run it cannot be told from noise.";

    /// <summary>True if the difference of the means exceeds twice its standard error.</summary>
    public static bool Distinguishable(Summary measured, Summary baseline)
    {
        var standardError = Math.Sqrt(measured.StandardDeviation * measured.StandardDeviation / measured.Count +
                                      baseline.StandardDeviation * baseline.StandardDeviation / baseline.Count);
        return Math.Abs(measured.Mean - baseline.Mean) >= 2 * standardError;
    }

    /// <summary><see cref="WithinNoise"/> if this run cannot tell the means apart, else nothing.</summary>
    public static string NoiseMark(Summary measured, Summary baseline) => Distinguishable(measured, baseline) ? "" : WithinNoise;
}
