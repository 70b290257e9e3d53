using System.Diagnostics;

namespace SkLookup.Cli.Tests;

/// <summary><c>--lock-timeout</c>: how long a command waits for another's lock, and a timeout that names the holder.</summary>
public sealed class LockTimeoutTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void ATimeoutNamesTheHoldersPidAndChangesNothing()
    {
        _sandbox.Run("load").AssertOk();
        using (var writer = Dispatcher.Open(_sandbox.NetNs.Namespace, _sandbox.BpfFs.Path, write: true))
        {
            var clock = Stopwatch.StartNew();
            var result = _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80", "--lock-timeout", "0.2").AssertOneLineError(5);

            Assert.Contains($"held by pid {Environment.ProcessId}", result.Error);
            Assert.Contains("waited 0.2 s", result.Error);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4.5), $"waited {clock.Elapsed}, not the 0.2 s asked for"); // under the 5 s default
        }
        Assert.Equal(0, _sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("bindings").GetArrayLength());
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("3601")]
    [InlineData("soon")]
    public void ABadLockTimeoutIsAUsageError(string seconds) =>
        _sandbox.Run("status", "--lock-timeout", seconds).AssertOneLineError(2);
}
