using SkLookup.Bpf;

namespace SkLookup.Cli.Tests;

/// <summary>The mapping from failures to the documented exit codes (pure logic: no kernel needed).</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class ErrorReportTests
{
    [Theory]
    [InlineData(SteeringError.InvalidPrefix, 2)]
    [InlineData(SteeringError.InvalidPort, 2)]
    [InlineData(SteeringError.InvalidProtocol, 2)]
    [InlineData(SteeringError.InvalidFamily, 2)]
    [InlineData(SteeringError.InvalidLabel, 2)]
    [InlineData(SteeringError.InvalidFile, 2)]
    [InlineData(SteeringError.WrongSocket, 2)]
    [InlineData(SteeringError.BpfFsMissing, 2)]
    [InlineData(SteeringError.NotLoaded, 3)]
    [InlineData(SteeringError.VersionMismatch, 4)]
    [InlineData(SteeringError.LockTimeout, 5)]
    [InlineData(SteeringError.PermissionDenied, 6)]
    [InlineData(SteeringError.NotFound, 7)]
    [InlineData(SteeringError.AlreadyExists, 8)]
    [InlineData(SteeringError.CapacityExceeded, 8)]
    [InlineData(SteeringError.DamagedState, 10)]
    [InlineData(SteeringError.Kernel, 1)]
    public void SteeringErrorsMapToTheDocumentedCodes(SteeringError error, int exitCode)
    {
        var (code, _) = ErrorReport.Classify(new SteeringException(error, "what failed: why"));

        Assert.Equal(exitCode, (int)code);
        Assert.Contains($"\n  {exitCode} ", ExitCodes.Describe().Replace("\r", ""));
    }

    [Fact]
    public void EverySteeringErrorHasACode()
    {
        foreach (var error in Enum.GetValues<SteeringError>())
            Assert.InRange((int)ErrorReport.Classify(new SteeringException(error, "x")).Code, 1, 10);
    }

    [Theory]
    [InlineData(BpfErrorReason.PermissionDenied, 6)]
    [InlineData(BpfErrorReason.NotFound, 7)]
    [InlineData(BpfErrorReason.AlreadyExists, 8)]
    [InlineData(BpfErrorReason.NotSupported, 9)]
    [InlineData(BpfErrorReason.InvalidArgument, 1)]
    [InlineData(BpfErrorReason.VerifierRejected, 1)]
    public void KernelErrorsMapByReason(BpfErrorReason reason, int exitCode)
    {
        Assert.Equal(exitCode, (int)ErrorReport.Classify(new BpfException("op: why", 1, reason)).Code);
        Assert.Equal(exitCode, (int)ErrorReport.Classify(new SteeringException(SteeringError.Kernel, "op: why", new BpfException("op: why", 1, reason))).Code);
    }

    [Fact]
    public void AMissingKernelFeatureIsNotSupported() =>
        Assert.Equal(9, (int)ErrorReport.Classify(new BpfNotSupportedException("sk_lookup", "5.9")).Code);

    [Fact]
    public void UnexpectedExceptionsAreFailuresThatAskForABugReport()
    {
        var (code, message) = ErrorReport.Classify(new InvalidOperationException("boom"));

        Assert.Equal(1, (int)code);
        Assert.Contains("bug", message);
    }

    [Fact]
    public void MultiLineMessagesBecomeOneLineWithAHint()
    {
        using var error = new StringWriter();

        ErrorReport.Write(error, json: false, "bind", new BpfException("first line\nsecond line", 1, BpfErrorReason.PermissionDenied));

        var text = error.ToString();
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sklookup: bind: first line | second line; run as root", text);
    }
}
