namespace SkLookup.TestKit;

/// <summary>
/// Timeouts in tests catch hangs; they do not measure speed. In the kernel matrix (scripts/kernel-matrix.sh)
/// the tests run under qemu's TCG, several times slower than natively, and the guest sets
/// <c>SKLOOKUP_TEST_SLOWDOWN</c> to stretch every timeout by that factor instead of skipping the test.
/// </summary>
public static class TestTiming
{
    /// <summary>How much slower than natively this machine runs the tests (1 natively).</summary>
    public static double Slowdown { get; } =
        double.TryParse(Environment.GetEnvironmentVariable("SKLOOKUP_TEST_SLOWDOWN"), System.Globalization.CultureInfo.InvariantCulture, out var factor) && factor >= 1
            ? factor
            : 1;

    /// <summary><paramref name="native"/> stretched by <see cref="Slowdown"/>.</summary>
    public static TimeSpan Scale(TimeSpan native) => native * Slowdown;
}
