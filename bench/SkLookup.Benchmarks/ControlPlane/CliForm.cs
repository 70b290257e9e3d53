namespace SkLookup.Benchmarks.ControlPlane;

/// <summary>
/// A form of the <c>sklookup</c> tool to time, as bench/run.sh builds them: the framework-dependent build
/// (run with <c>dotnet</c> or through its apphost), the self-contained single file and the native AOT
/// binary of scripts/publish-cli.sh. Paths are relative to the repository root.
/// </summary>
/// <param name="Name">How the report names it.</param>
/// <param name="FileName">The program to start.</param>
/// <param name="Prefix">Arguments before the tool's own (the dll, for <c>dotnet</c>).</param>
/// <param name="Required">The file that must exist for this form to run.</param>
internal sealed record CliForm(string Name, string FileName, IReadOnlyList<string> Prefix, string Required)
{
    /// <summary>The Release build of src/SkLookup.Cli.</summary>
    public const string BuildDirectory = "src/SkLookup.Cli/bin/Release/net10.0";

    /// <summary>Where scripts/publish-cli.sh writes its outputs.</summary>
    public const string PublishDirectory = "artifacts/cli";

    /// <summary>Where bench/run.sh leaves the reason when native AOT did not build.</summary>
    public const string AotFailureFile = PublishDirectory + "/aot-build-failed.txt";

    /// <summary>The forms, in the order of the report.</summary>
    public static IReadOnlyList<CliForm> All(string repositoryRoot)
    {
        var rid = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        string At(string relative) => System.IO.Path.GetFullPath(System.IO.Path.Combine(repositoryRoot, relative));
        var dll = At($"{BuildDirectory}/SkLookup.Cli.dll");
        return
        [
            new("JIT: `dotnet SkLookup.Cli.dll`", "dotnet", [dll], dll),
            new("JIT: the apphost `SkLookup.Cli`", At($"{BuildDirectory}/SkLookup.Cli"), [], At($"{BuildDirectory}/SkLookup.Cli")),
            new("self-contained single file (trimmed, compressed)", At($"{PublishDirectory}/{rid}/sklookup"), [], At($"{PublishDirectory}/{rid}/sklookup")),
            new("native AOT", At($"{PublishDirectory}/{rid}-aot/sklookup"), [], At($"{PublishDirectory}/{rid}-aot/sklookup")),
        ];
    }
}
