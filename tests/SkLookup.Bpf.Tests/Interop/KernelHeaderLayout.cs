using System.Diagnostics;
using System.Globalization;

namespace SkLookup.Bpf.Tests;

/// <summary>
/// The layout of the kernel UAPI structs as the system's <c>&lt;linux/bpf.h&gt;</c> defines it: compiles
/// <c>Interop/layout.c</c> with the system C compiler once, runs it, and parses what it prints.
/// </summary>
public sealed class KernelHeaderLayout
{
    /// <summary>Compiles and runs the layout program.</summary>
    public KernelHeaderLayout()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Interop", "layout.c");
        var directory = Directory.CreateTempSubdirectory("sklookup-layout-").FullName;
        try
        {
            var binary = Path.Combine(directory, "layout");
            Run("cc", ["-Wall", "-Werror", "-o", binary, source], "compile Interop/layout.c against <linux/bpf.h> (install gcc and linux-libc-dev)");
            Parse(Run(binary, [], "run the layout program"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Offset and size of each member, keyed like <c>bpf_attr.test.ctx_in</c>.</summary>
    public Dictionary<string, (int Offset, int Size)> Members { get; } = [];

    /// <summary>Sizes of whole structs and of named <c>bpf_attr</c> command groups, keyed like <c>bpf_prog_info</c> or <c>bpf_attr.test</c>.</summary>
    public Dictionary<string, int> Sizes { get; } = [];

    /// <summary>LINUX_VERSION_CODE of the headers.</summary>
    public Version HeaderVersion { get; private set; } = new(0, 0);

    private void Parse(string output)
    {
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            switch (parts[0])
            {
                case "member":
                    Members[parts[1]] = (Int(parts[2]), Int(parts[3]));
                    break;
                case "sizeof":
                    Sizes[parts[1]] = Int(parts[2]);
                    break;
                case "header":
                    var code = Int(parts[1]);
                    HeaderVersion = new Version(code >> 16, (code >> 8) & 0xff);
                    break;
                default:
                    throw new InvalidDataException($"layout program printed an unknown line: {line}");
            }
        }
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static string Run(string program, string[] arguments, string what)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            throw new TimeoutException($"{what}: {program} did not finish");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{what}: {program} exited with {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
