namespace SkLookup.Bpf.Tests.Elf;

/// <summary>Semantic comparison of two collection specs: the same programs, instructions, references, maps, contents and variables.</summary>
internal static class SpecComparison
{
    public static void AssertEquivalent(CollectionSpec expected, CollectionSpec actual, string what = "spec")
    {
        AssertSameNames($"{what}: programs", expected.Programs.Keys, actual.Programs.Keys);
        foreach (var (name, program) in expected.Programs)
        {
            var other = actual.Programs[name];
            Assert.True(program with { Instructions = [], MapReferences = [] } == other with { Instructions = [], MapReferences = [] },
                $"{what}: program {name} differs: {program} in {program.SectionName} against {other} in {other.SectionName}");
            Assert.True(program.Instructions.SequenceEqual(other.Instructions),
                $"{what}: the instructions of program {name} differ:\n--- expected\n{program.Disassemble()}--- actual\n{other.Disassemble()}");
            Assert.True(program.MapReferences.SequenceEqual(other.MapReferences),
                $"{what}: the map references of program {name} differ: {string.Join(", ", program.MapReferences)} against {string.Join(", ", other.MapReferences)}");
        }

        AssertSameNames($"{what}: maps", expected.Maps.Keys, actual.Maps.Keys);
        foreach (var (name, map) in expected.Maps)
        {
            var other = actual.Maps[name];
            // Contents hold byte arrays, which records compare by reference: compare them apart.
            Assert.True(map with { Contents = [] } == other with { Contents = [] }, $"{what}: map {name} differs: {map} against {other}");
            Assert.True(map.Contents.Count == other.Contents.Count, $"{what}: map {name} has {other.Contents.Count} entries, want {map.Contents.Count}");
            for (var i = 0; i < map.Contents.Count; i++)
            {
                Assert.True(map.Contents[i].Key.AsSpan().SequenceEqual(other.Contents[i].Key) && map.Contents[i].Value.AsSpan().SequenceEqual(other.Contents[i].Value),
                    $"{what}: the contents of map {name} differ: {Convert.ToHexString(map.Contents[i].Value)} against {Convert.ToHexString(other.Contents[i].Value)}");
            }
        }

        AssertSameNames($"{what}: variables", expected.Variables.Keys, actual.Variables.Keys);
        foreach (var (name, variable) in expected.Variables)
            Assert.True(variable == actual.Variables[name], $"{what}: variable {name} differs: {variable} against {actual.Variables[name]}");
    }

    private static void AssertSameNames(string what, IEnumerable<string> expected, IEnumerable<string> actual)
    {
        var want = expected.Order(StringComparer.Ordinal).ToList();
        var got = actual.Order(StringComparer.Ordinal).ToList();
        Assert.True(want.SequenceEqual(got), $"{what} differ: [{string.Join(", ", want)}] against [{string.Join(", ", got)}]");
    }
}
