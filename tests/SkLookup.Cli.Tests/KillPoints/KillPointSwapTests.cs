using Xunit.Abstractions;

namespace SkLookup.Cli.Tests.KillPoints;

/// <summary>The kill-point sweep (<see cref="KillPointSuite"/>) of the commands that replace the whole binding set: apply (alone, and with label options), and the rebuild an upgrade does after an interrupted bind.</summary>
[Trait("Category", "KillPoints")]
public sealed class KillPointSwapTests(ITestOutputHelper log) : KillPointSuite(log)
{
    public static TheoryData<string> Commands => new() { "apply", "apply-options", "upgrade" };

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryStepBoundaryAndRandomInstants(string command) => Sweep(command);
}
