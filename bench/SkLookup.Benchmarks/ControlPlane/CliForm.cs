namespace SkLookup.Benchmarks.ControlPlane;

/// <summary>
/// A form of the <c>sklookup</c> tool to time, as bench/run.sh builds them: the dotnet tool as
/// <c>dotnet tool install</c> installs it from scripts/publish-cli.sh's packages, the framework-dependent build
/// (run with <c>dotnet</c>), the self-contained single file (the native AOT binary where that builds), the trimmed
/// ReadyToRun single file that builds without a C toolchain, and the native AOT binary. Paths are relative to
/// the repository root.
/// </summary>
/// <param name="Name">How the report names it.</param>
/// <param name="FileName">The program to start.</param>
/// <param name="Prefix">Arguments before the tool's own (the dll, for <c>dotnet</c>).</param>
/// <param name="Required">The file that must exist for this form to run.</param>
/// <param name="TargetMilliseconds">The target for one <c>bind</c> in this form, or null for none.</param>
internal sealed record CliForm(string Name, string FileName, IReadOnlyList<string> Prefix, string Required, double? TargetMilliseconds)
{
    /// <summary>The Release build of src/SkLookup.Cli.</summary>
    public const string BuildDirectory = "src/SkLookup.Cli/bin/Release/net10.0";

    /// <summary>Where scripts/publish-cli.sh writes its outputs.</summary>
    public const string PublishDirectory = "artifacts/cli";

    /// <summary>Where bench/run.sh installs the dotnet tool (<c>dotnet tool install --tool-path</c>).</summary>
    public const string ToolDirectory = PublishDirectory + "/tool";

    /// <summary>Where bench/run.sh leaves the reason when native AOT did not build.</summary>
    public const string AotFailureFile = PublishDirectory + "/aot-build-failed.txt";

    /// <summary>The targets of one bind: native AOT, and the dotnet tool (the single file's is the tool's measured time).</summary>
    public const double AotTargetMilliseconds = 10, ToolTargetMilliseconds = 60;

    /// <summary>The name of the single-file form, whose target is the dotnet tool's measured time.</summary>
    public const string SingleFileName = "self-contained single file (`artifacts/cli/RID/sklookup`: the native AOT binary where native AOT builds)";

    /// <summary>The name of the dotnet tool's form.</summary>
    public const string ToolName = "dotnet tool (`dotnet tool install`; native AOT on linux-x64)";

    /// <summary>The forms, in the order of the report.</summary>
    public static IReadOnlyList<CliForm> All(string repositoryRoot)
    {
        var rid = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        string At(string relative) => System.IO.Path.GetFullPath(System.IO.Path.Combine(repositoryRoot, relative));
        var dll = At($"{BuildDirectory}/SkLookup.Cli.dll");
        return
        [
            new(ToolName, At($"{ToolDirectory}/sklookup"), [], At($"{ToolDirectory}/sklookup"), ToolTargetMilliseconds),
            new("JIT: `dotnet SkLookup.Cli.dll` (the tool's framework-dependent build)", "dotnet", [dll], dll, null),
            new(SingleFileName, At($"{PublishDirectory}/{rid}/sklookup"), [], At($"{PublishDirectory}/{rid}/sklookup"), null),
            new("single file without a C toolchain (trimmed, ReadyToRun)", At($"{PublishDirectory}/{rid}-r2r/sklookup"), [], At($"{PublishDirectory}/{rid}-r2r/sklookup"), null),
            new("native AOT", At($"{PublishDirectory}/{rid}-aot/sklookup"), [], At($"{PublishDirectory}/{rid}-aot/sklookup"), AotTargetMilliseconds),
        ];
    }
}
