using System.Text.Json.Nodes;
using SkLookup.Bpf.Features;

namespace SkLookup.Cli;

/// <summary>The running kernel and the features the core found in it (<see cref="Probe.All"/>), as JSON and as one line.</summary>
internal static class KernelView
{
    /// <summary>{"release": ..., "features": [{"name", "since", "present"}]}; present is null where probing needs CAP_BPF.</summary>
    public static JsonObject Json(IReadOnlyList<KernelFeature> features) => new()
    {
        ["release"] = KernelVersion.Release,
        ["features"] = JsonArrays.From(features, feature => new JsonObject
        {
            ["name"] = feature.Name,
            ["since"] = feature.MinimumKernel,
            ["present"] = feature.Present,
        }),
    };

    /// <summary>"kernel: Linux 5.10.0-32-cloud-amd64: all of ... except ingress_ifindex ... (needs 5.17), ...".</summary>
    public static string Line(IReadOnlyList<KernelFeature> features)
    {
        var missing = features.Where(feature => feature.Present == false).Select(feature => $"{feature.Name} (needs {feature.MinimumKernel})").ToList();
        var unknown = features.Where(feature => feature.Present is null).Select(feature => feature.Name).ToList();
        var line = $"kernel: Linux {KernelVersion.Release}: " + (missing.Count == 0
            ? $"has every feature sklookup uses ({features.Count(feature => feature.Present == true)} probed)"
            : $"lacks {string.Join(", ", missing)}");
        if (unknown.Count > 0)
            line += $"; not probed without CAP_BPF: {string.Join(", ", unknown)}";
        return line;
    }
}
