using CsCheck;
using Xunit.Abstractions;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>
/// The differential property test of the generator (issue 9): random binding sets, loaded as the generated
/// dispatcher and looked up with BPF_PROG_TEST_RUN, against <see cref="ReferenceModel"/>. CI runs a fixed,
/// seeded set of cases; to run longer: <c>SKLOOKUP_PROPERTY_SECONDS=600 [SKLOOKUP_PROPERTY_SEED=...] dotnet test
/// tests/SkLookup.Tests -c Release --filter FullyQualifiedName~DispatcherPropertyTests</c>.
/// </summary>
public sealed class DispatcherPropertyTests(ITestOutputHelper output)
{
    /// <summary>Sets of 0 to 3,000 bindings in every generated form, with single changes applied in place afterwards.</summary>
    [Fact]
    public void GeneratedDispatcherAgreesWithTheModel()
    {
        using var rig = new PropertyRig();
        PropertyDriver.Run(PropertyGen.Cases, rig.Check, fixedSeed: 20261125, cases: 40, cap: TimeSpan.FromSeconds(110), output.WriteLine);
    }

    /// <summary>Sets whose classes have many prefix lengths, all hashed: the binary search on lengths with markers.</summary>
    [Fact]
    public void SearchedClassesAgreeWithTheModel()
    {
        using var rig = new PropertyRig();
        PropertyDriver.Run(PropertyGen.SearchCases, rig.Check, fixedSeed: 20261202, cases: 10, cap: TimeSpan.FromSeconds(30), output.WriteLine);
    }

    /// <summary>Sets above 100,000 bindings (lookups on a sample of their boundaries), one in CI.</summary>
    [Fact]
    public void LargeSetsAgreeWithTheModel()
    {
        using var rig = new PropertyRig { BoundaryBindings = 150 };
        PropertyDriver.Run(PropertyGen.CasesOf(Gen.Int[100_001, 120_000]), rig.Check, fixedSeed: 9, cases: 1, cap: TimeSpan.FromSeconds(60), output.WriteLine);
    }
}
