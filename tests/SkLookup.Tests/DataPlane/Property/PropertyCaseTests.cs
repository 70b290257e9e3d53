using CsCheck;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>Pure checks of what a property failure prints: the bindings file must be one that <c>sklookup apply</c> accepts.</summary>
public sealed class PropertyCaseTests
{
    /// <summary>
    /// Every generated set, written as a failure prints it, parses with the parser of <c>sklookup apply</c> into the
    /// same bindings and the same fall-through options, so a printed minimal case replays as it is.
    /// </summary>
    [Fact]
    public void PrintedBindingsFileIsOneThatApplyAccepts()
    {
        var pcg = new PCG(1, 20261202);
        for (var i = 0; i < 200; i++)
        {
            var testCase = PropertyGen.Cases.Generate(pcg, null, out _);
            var document = BindingsFile.ParseDocument(PropertyCase.ToBindingsFile(testCase.Bindings, testCase.Labels));
            Assert.Equal(testCase.Bindings.Select(b => (b.Label, b.Protocol, b.Prefix, b.Port)), document.Bindings.Select(b => (b.Label, b.Protocol, b.Prefix, b.Port)));
            foreach (var label in testCase.Bindings.Select(b => b.Label).Distinct())
            {
                var fallsThrough = document.Labels.TryGetValue(label, out var options) && options.FallThrough;
                Assert.Equal(testCase.Labels.Single(l => l.Name == label).FallThrough, fallsThrough);
            }
        }
    }
}
