namespace SkLookup.Bpf.Tests.Elf;

/// <summary>Semantic comparison of two collection specs: the same programs, instructions, references, maps, contents and variables.</summary>
internal static class SpecComparison
{
    public static void AssertEquivalent(CollectionSpec expected, CollectionSpec actual)
    {
        Assert.Equal(expected.Programs.Keys.Order(StringComparer.Ordinal), actual.Programs.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, program) in expected.Programs)
        {
            var other = actual.Programs[name];
            Assert.Equal(program.Type, other.Type);
            Assert.Equal(program.ExpectedAttachType, other.ExpectedAttachType);
            Assert.Equal(program.License, other.License);
            Assert.Equal(program.SectionName, other.SectionName);
            Assert.True(program.Instructions.SequenceEqual(other.Instructions),
                $"program {name} differs:\n--- expected\n{program.Disassemble()}--- actual\n{other.Disassemble()}");
            Assert.Equal(program.MapReferences, other.MapReferences);
        }

        Assert.Equal(expected.Maps.Keys.Order(StringComparer.Ordinal), actual.Maps.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, map) in expected.Maps)
        {
            var other = actual.Maps[name];
            // Contents hold byte arrays, which records compare by reference: compare them apart.
            Assert.Equal(map with { Contents = [] }, other with { Contents = [] });
            Assert.Equal(map.Contents.Count, other.Contents.Count);
            for (var i = 0; i < map.Contents.Count; i++)
            {
                Assert.Equal(map.Contents[i].Key, other.Contents[i].Key);
                Assert.Equal(map.Contents[i].Value, other.Contents[i].Value);
            }
        }

        Assert.Equal(expected.Variables.Values.OrderBy(v => v.Name, StringComparer.Ordinal), actual.Variables.Values.OrderBy(v => v.Name, StringComparer.Ordinal));
    }
}
