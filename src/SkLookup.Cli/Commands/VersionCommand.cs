using System.CommandLine;
using System.Reflection;
using System.Text.Json.Nodes;
using SkLookup.Bpf;
using SkLookup.Bpf.Features;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup version</c>: this tool's version, the loaded dispatcher's, whether an upgrade is due, and the kernel's features.</summary>
internal static class VersionCommand
{
    /// <summary>The tool's version, e.g. "1.0.0+bfd35e8": the informational version the build stamps.</summary>
    public static string ToolVersion =>
        typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion is { } version
            ? ShortenCommit(version)
            : "unknown";

    /// <summary>The command.</summary>
    public static Command Create()
    {
        var command = new Command("version", "Show this tool's version, the loaded dispatcher's, whether an upgrade is due, and the kernel's sk_lookup features");
        command.HelpFooter("""
            An upgrade is due when the dispatcher in the namespace was loaded by another version: 'sklookup upgrade'
            swaps in this version's program (and maps) without dropping traffic. Not loaded is not an error here.
            Example: sklookup version --json
            """);
        return command.Runs("version", context =>
        {
            var (loaded, dispatcher) = DispatcherVersion(context);
            var features = Features();
            var kernel = KernelRelease();
            context.Write(new JsonObject
            {
                ["version"] = ToolVersion,
                ["dispatcherVersion"] = Dispatcher.CurrentVersion,
                ["loaded"] = loaded,
                ["kernel"] = new JsonObject
                {
                    ["release"] = kernel,
                    ["features"] = JsonArrays.From(features, feature => new JsonObject
                    {
                        ["name"] = feature.Name,
                        ["since"] = feature.Since,
                        ["present"] = feature.Present,
                    }),
                },
            }, output =>
            {
                output.WriteLine($"sklookup {ToolVersion} (dispatcher {Dispatcher.CurrentVersion})");
                output.WriteLine(dispatcher);
                output.WriteLine($"kernel: Linux {kernel}: " + string.Join(", ", features.Select(feature =>
                    $"{feature.Name} {(feature.Present switch { true => "yes", false => $"no (needs {feature.Since})", null => "unknown (needs CAP_BPF)" })}")));
            });
            return ExitCode.Ok;
        });
    }

    /// <summary>The loaded dispatcher's version as JSON and as a line; "not loaded" is an answer, not an error.</summary>
    private static (JsonNode? Json, string Text) DispatcherVersion(CommandContext context)
    {
        using var netns = context.OpenNamespace();
        var where = $"dispatcher in netns {netns.Inode}";
        try
        {
            BpfFileSystem.EnsureBpfFs(context.BpfFsPath);
        }
        catch (BpfException exception)
        {
            return (null, $"{where}: unknown ({exception.Message})");
        }
        try
        {
            using var dispatcher = Dispatcher.Open(netns, context.BpfFsPath, write: false);
            var version = dispatcher.Version();
            var json = new JsonObject
            {
                ["netns"] = netns.Inode,
                ["version"] = version.Loaded,
                ["programTag"] = version.ProgramTag,
                ["upgradeDue"] = version.UpgradeDue,
                ["reason"] = version.Reason,
            };
            return (json, version.UpgradeDue
                ? $"{where}: {version.Loaded}, program tag {version.ProgramTag}: upgrade due ({version.Reason}); run 'sklookup upgrade'"
                : $"{where}: {version.Loaded}, program tag {version.ProgramTag}: current, no upgrade due");
        }
        catch (SteeringException exception) when (exception.Error == SteeringError.NotLoaded)
        {
            return (null, $"{where}: not loaded");
        }
    }

    private sealed record FeatureState(string Name, string Since, bool? Present);

    /// <summary>The features the core probes for; null where probing needs privileges this process lacks.</summary>
    private static List<FeatureState> Features()
    {
        (string Name, string Since, Func<bool> Has)[] probes =
        [
            ("sk_lookup", "5.9", () => Probe.HasSkLookup),
            ("BPF_LINK_DETACH", "5.9", () => Probe.HasLinkDetach),
            ("sk_lookup test runs", "5.13", () => Probe.HasSkLookupTestRun),
            ("ingress_ifindex", "5.17", () => Probe.HasIngressIfindex),
        ];
        var result = new List<FeatureState>();
        foreach (var (name, since, has) in probes)
        {
            bool? present;
            try
            {
                present = has();
            }
            catch (BpfException)
            {
                present = null; // Probing loads a program, which needs CAP_BPF.
            }
            result.Add(new FeatureState(name, since, present));
        }
        return result;
    }

    private static string KernelRelease()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return Environment.OSVersion.Version.ToString();
        }
    }

    /// <summary>"1.0.0+bfd35e8f2c06..." becomes "1.0.0+bfd35e8": the commit's short form, as git prints it.</summary>
    private static string ShortenCommit(string version)
    {
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 && version.Length - plus - 1 > 7 ? version[..(plus + 8)] : version;
    }
}
