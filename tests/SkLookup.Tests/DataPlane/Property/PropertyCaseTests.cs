using CsCheck;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>Pure checks of what a property failure prints: the bindings file must be one that <c>sklookup apply</c> accepts.</summary>
public sealed class PropertyCaseTests
{
    /// <summary>
    /// Every generated set, written as a failure prints it, parses with the parser of <c>sklookup apply</c> into the
    /// same bindings and the same fall-through options, so a printed minimal case replays as it is.
    /// </summary>
    /// <summary>The search-form cases really are searched: most of them have a class in that form, with many lengths on one port.</summary>
    [Fact]
    public void SearchCasesGenerateTheSearchForm()
    {
        var pcg = new PCG(1, 20261202);
        var searched = 0;
        for (var i = 0; i < 40; i++)
        {
            var testCase = PropertyGen.SearchCases.Generate(pcg, null, out _);
            var shape = SkLookup.DataPlane.DispatcherShape.From(testCase.Bindings.Select(b => (b.Match, 0u)), testCase.InlineLimit);
            searched += shape.Classes.Any(c => c.Search is { } search && search.SpecificLengths.Length >= 8 && search.AnyLengths.Length >= 8) ? 1 : 0;
        }
        Assert.True(searched >= 30, $"only {searched} of 40 cases have a searched class with 8 or more lengths of each port kind");
    }

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
