using System.Text.Json.Nodes;

namespace SkLookup.Cli;

/// <summary>
/// Builds JSON arrays without <c>JsonArray.Add&lt;T&gt;</c>, whose generic overload (chosen even for
/// nodes) needs reflection and so breaks trimming and native AOT.
/// </summary>
internal static class JsonArrays
{
    /// <summary>An array of <paramref name="items"/>, each turned into a node by <paramref name="toNode"/>.</summary>
    public static JsonArray From<T>(IEnumerable<T> items, Func<T, JsonNode?> toNode)
    {
        var array = new JsonArray();
        foreach (var item in items)
            array.Add(toNode(item));
        return array;
    }
}
