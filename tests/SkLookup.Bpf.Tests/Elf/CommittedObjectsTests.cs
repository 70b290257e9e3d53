using System.Diagnostics;
using Xunit.Abstractions;

namespace SkLookup.Bpf.Tests.Elf;

/// <summary>
/// The committed objects are what their sources compile to: each .c is rebuilt with tests/bpf-objects/build.sh
/// and read with the loader, and the programs, maps and variables must match the committed .o. Comparing the
/// specs rather than the bytes ignores what does not matter to loading (debug info, string order).
/// </summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class CommittedObjectsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void CommittedObjectsMatchTheirSources()
    {
        var source = BpfObjects.SourceDirectory();
        if (source is null)
        {
            output.WriteLine("skipped: tests/bpf-objects is not above the test assembly, so the sources are not here");
            return;
        }
        // build.sh's own choice of compiler: $CLANG, else clang-14, else clang.
        var clang = Environment.GetEnvironmentVariable("CLANG") is { Length: > 0 } chosen ? chosen : FindOnPath("clang-14") ?? FindOnPath("clang");
        if (clang is null)
        {
            output.WriteLine("skipped: no clang installed");
            return;
        }
        var version = Run(clang, ["--version"], null).Output.Split('\n')[0].Trim();
        var committedVersion = File.ReadAllText(Path.Combine(source, "clang-version.txt")).Trim();
        if (version != committedVersion)
        {
            output.WriteLine($"skipped: the objects were built by '{committedVersion}', but the installed compiler is '{version}'");
            return;
        }

        var build = Directory.CreateTempSubdirectory("sklookup-bpf-objects-");
        try
        {
            // build.sh writes next to itself, so a copy of it and the sources builds into the temporary directory.
            File.Copy(Path.Combine(source, "build.sh"), Path.Combine(build.FullName, "build.sh"));
            Directory.CreateDirectory(Path.Combine(build.FullName, "src"));
            foreach (var file in Directory.EnumerateFiles(Path.Combine(source, "src")))
                File.Copy(file, Path.Combine(build.FullName, "src", Path.GetFileName(file)));
            var (exitCode, text) = Run("sh", [Path.Combine(build.FullName, "build.sh")], new Dictionary<string, string> { ["CLANG"] = clang });
            Assert.True(exitCode == 0, $"build.sh failed ({exitCode}):\n{text}");

            var sources = Directory.EnumerateFiles(Path.Combine(source, "src"), "*.c").Select(Path.GetFileNameWithoutExtension).Order();
            var committed = Directory.EnumerateFiles(source, "*.o").Select(Path.GetFileNameWithoutExtension).Order();
            Assert.Equal(sources, committed);
            foreach (var name in committed)
            {
                output.WriteLine($"comparing {name}.o");
                AssertSameSpec(name + ".o", Path.Combine(source, name + ".o"), Path.Combine(build.FullName, name + ".o"));
            }
        }
        finally
        {
            build.Delete(recursive: true);
        }
    }

    private static void AssertSameSpec(string name, string committedPath, string rebuiltPath)
    {
        CollectionSpec? committed = null, rebuilt = null;
        var committedError = Record.Exception(() => committed = ElfReader.Read(committedPath));
        var rebuiltError = Record.Exception(() => rebuilt = ElfReader.Read(rebuiltPath));
        if (committedError is not null || rebuiltError is not null)
        {
            // Objects the loader refuses (core_reloc.o) must be refused for the same reason.
            Assert.IsType<BpfObjectException>(committedError);
            Assert.Equal(committedError.Message, rebuiltError?.Message);
            return;
        }
        SpecComparison.AssertEquivalent(committed!, rebuilt!, $"{name} (committed against rebuilt)");
    }

    private static string? FindOnPath(string program)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    private static (int ExitCode, string Output) Run(string program, string[] arguments, Dictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? [])
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var standardError = process.StandardError.ReadToEndAsync();
        var standardOutput = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(BuildTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within {BuildTimeout}");
        }
        return (process.ExitCode, standardOutput + standardError.Result);
    }
}
