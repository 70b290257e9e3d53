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
            var features = Probe.All();
            context.Write(new JsonObject
            {
                ["version"] = ToolVersion,
                ["dispatcherVersion"] = Dispatcher.CurrentVersion,
                ["loaded"] = loaded,
                ["kernel"] = KernelView.Json(features),
            }, output =>
            {
                output.WriteLine($"sklookup {ToolVersion} (dispatcher {Dispatcher.CurrentVersion})");
                output.WriteLine(dispatcher);
                output.WriteLine(KernelView.Line(features));
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

    /// <summary>"1.0.0+bfd35e8f2c06..." becomes "1.0.0+bfd35e8": the commit's short form, as git prints it.</summary>
    private static string ShortenCommit(string version)
    {
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 && version.Length - plus - 1 > 7 ? version[..(plus + 8)] : version;
    }
}
