namespace SkLookup.Benchmarks.Statistics;

/// <summary>Order statistics and moments of one sample.</summary>
internal sealed record Summary(int Count, double Mean, double StandardDeviation, double Median, double Min, double Max, double LowerQuartile, double UpperQuartile)
{
    /// <summary>The sample standard deviation as a share of the mean.</summary>
    public double RelativeStandardDeviation => Mean == 0 ? 0 : StandardDeviation / Mean;

    /// <summary>The interquartile range.</summary>
    public double InterquartileRange => UpperQuartile - LowerQuartile;

    /// <summary>Summarises <paramref name="values"/> (at least one).</summary>
    public static Summary Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            throw new ArgumentException("a summary needs at least one value", nameof(values));
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var mean = 0.0;
        foreach (var value in sorted)
            mean += value;
        mean /= sorted.Length;
        var squares = 0.0;
        foreach (var value in sorted)
            squares += (value - mean) * (value - mean);
        // The sample (n - 1) standard deviation, as the series' "sstdev".
        var deviation = sorted.Length > 1 ? Math.Sqrt(squares / (sorted.Length - 1)) : 0;
        return new Summary(sorted.Length, mean, deviation, Quantile(sorted, 0.5), sorted[0], sorted[^1], Quantile(sorted, 0.25), Quantile(sorted, 0.75));
    }

    /// <summary>The median of <paramref name="values"/>.</summary>
    public static double MedianOf(IReadOnlyList<double> values) => Of(values).Median;

    // Linear interpolation between closest ranks (the "type 7" quantile that R and NumPy use by default).
    private static double Quantile(double[] sorted, double share)
    {
        var position = share * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = (int)Math.Ceiling(position);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
    }
}
