using Xunit.Abstractions;

namespace SkLookup.Cli.Tests.KillPoints;

/// <summary>The kill-point sweep (<see cref="KillPointSuite"/>) of the lifecycle, single-binding and label commands.</summary>
[Trait("Category", "KillPoints")]
public sealed class KillPointTests(ITestOutputHelper log) : KillPointSuite(log)
{
    public static TheoryData<string> Commands => new() { "load", "unload", "bind", "unbind", "register", "bind-hashed", "unbind-hashed", "label" };

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryStepBoundaryAndRandomInstants(string command) => Sweep(command);
}
