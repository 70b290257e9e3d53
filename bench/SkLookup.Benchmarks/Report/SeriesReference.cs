namespace SkLookup.Benchmarks.Report;

/// <summary>
/// The rx pps the sk_lookup series published in its cover letter (v2, Linux 5.6.3, a 24-core 1.9 GHz
/// Skylake receiver with a 25G NIC, 60 s floods measured with ifpps). These are the series' numbers,
/// shown beside ours for comparison; none of them is a result of this benchmark.
/// </summary>
internal static class SeriesReference
{
    /// <summary>One flood's three rows: mean rx pps and relative sample stdev (%), and the Δ the series printed.</summary>
    internal sealed record FloodTable(string Title, double VanillaPps, double VanillaSpreadPercent,
        double NoProgramPps, double NoProgramSpreadPercent, double NoProgramDeltaPercent,
        double WithProgramPps, double WithProgramSpreadPercent, double WithProgramDeltaPercent)
    {
        /// <summary>Δ of "with prog" against "no prog attached" (the series printed Δ against vanilla; this is derived from its means).</summary>
        public double WithProgramVsNoProgramPercent => (WithProgramPps / NoProgramPps - 1) * 100;
    }

    /// <summary>The tables by flood name (tcp4, tcp6, udp4, udp6).</summary>
    public static IReadOnlyDictionary<string, FloodTable> Floods { get; } = new Dictionary<string, FloodTable>
    {
        ["tcp4"] = new("tcp4 SYN flood", 939_616, 0.5, 929_275, 1.2, -1.1, 918_582, 0.4, -2.2),
        ["tcp6"] = new("tcp6 SYN flood", 875_838, 0.5, 872_005, 0.3, -0.4, 856_250, 0.5, -2.2),
        ["udp4"] = new("udp4 0-len flood", 2_738_662, 1.5, 2_576_893, 1.0, -5.9, 2_530_698, 1.0, -7.6),
        ["udp6"] = new("udp6 0-len flood", 2_867_885, 1.4, 2_646_875, 1.0, -7.7, 2_520_474, 0.7, -12.1),
    };
}
