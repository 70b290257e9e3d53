using System.Text;
using CsCheck;

namespace SkLookup.Cli.Tests.Fuzz;

/// <summary>
/// The fuzzer of the command line: argument vectors with at least one bad word (by construction), each run
/// in-process against a loaded dispatcher in a private namespace. Every one must exit non-zero with one clean
/// line on stderr, nothing on stdout, and the state exactly as before. A failing case is shrunk by CsCheck,
/// and every case that ever failed is kept in <see cref="Regressions"/>.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class CliFuzzTests : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("sklookup-fuzz-").FullName;
    private readonly string _before;

    public CliFuzzTests()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        _sandbox.Run("bind", "web", "udp", "2001:db8::/64", "53").AssertOk();
        _sandbox.Run("bind", "proxy", "tcp", "198.51.100.1", "any").AssertOk();
        _before = Snapshot();
    }

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        _sandbox.Dispose();
    }

    /// <summary>What the state is, as a reader sees it (bindings, destinations, counters).</summary>
    private string Snapshot() => _sandbox.Run("status", "--json", "--no-owners").AssertOk().Output;

    /// <summary>The argument vectors: every command, with one bad word, an unknown option, or a word too many.</summary>
    private static readonly Gen<string[]> BadArguments = Gen.OneOf(
        OneBad("bind", [Inputs.GoodLabel, Inputs.GoodProtocol, Inputs.GoodPrefix, Inputs.GoodPort], [Inputs.BadLabel, Inputs.BadProtocol, Inputs.BadPrefix, Inputs.BadPort]),
        OneBad("unbind", [Inputs.GoodLabel, Inputs.GoodProtocol, Inputs.GoodPrefix, Inputs.GoodPort], [Inputs.BadLabel, Inputs.BadProtocol, Inputs.BadPrefix, Inputs.BadPort]),
        OneBad("bindings", [Inputs.GoodProtocol, Inputs.GoodPrefix, Inputs.GoodPort], [Inputs.BadProtocol, Inputs.BadPrefix, Inputs.BadPort]),
        OneBad("status", [Inputs.GoodLabel], [Inputs.BadLabel]),
        OneBad("explain", [Inputs.GoodProtocol, Inputs.GoodEndPoint], [Inputs.BadProtocol, Inputs.BadEndPoint]),
        Gen.Select(Inputs.GoodProtocol, Inputs.GoodEndPoint, Inputs.BadEndPoint, (p, to, from) => new[] { "explain", p, to, "--from", from }),
        OneBad("unregister", [Inputs.GoodLabel, Gen.OneOf("ipv4", "ipv6", "4", "6"), Inputs.GoodProtocol],
            [Inputs.BadLabel, Gen.OneOf("ipv5", "", "inet4", "IPv4 ", "v6\0"), Inputs.BadProtocol]),
        OneBad("register-pid", [Gen.Const(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)), Inputs.GoodLabel, Inputs.GoodProtocol, Inputs.GoodPrefix.Select(p => p.Split('/')[0]), Inputs.GoodPort.Where(p => p is not ("0" or "any" or "*"))],
            [Gen.OneOf("0", "-1", "abc", "1.5", "", "99999999999", "0x10", " 1"), Inputs.BadLabel, Inputs.BadProtocol, Inputs.BadPrefix, Gen.OneOf(Inputs.BadPort, Gen.OneOf("0", "any"))]),
        // Not ":0" after a valid address: that is a good listen address (a free port), and metrics would serve it.
        Inputs.BadEndPoint.Where(e => !e.EndsWith(":0", StringComparison.Ordinal)).Select(listen => new[] { "metrics", "--listen", listen }),
        Gen.OneOf("/dev/zero", "/dev/null", "/dev/tty", "/proc", "/nonexistent", "", "/proc/self/ns/net").Select(path => new[] { "apply", path }),
        Gen.Select(Gen.OneOf("bind web tcp 192.0.2.0/24 80", "status", "bindings", "unbind web tcp 192.0.2.0/24 80", "apply /nonexistent", "explain tcp 192.0.2.1:80", "unregister web ipv4 tcp", "load", "unload", "upgrade"),
            Inputs.UnknownOption, Gen.Int[0, 6], (command, option, at) =>
            {
                var words = command.Split(' ').ToList();
                words.Insert(Math.Clamp(at, 1, words.Count), option);
                return words.ToArray();
            }),
        Gen.OneOf<string[]>(["bind", "web", "tcp", "192.0.2.0/24"], ["bind", "web", "tcp", "192.0.2.0/24", "80", "extra"], ["unbind"], ["explain", "tcp"],
            ["frobnicate"], ["register-pid"], ["apply"], ["prog", "frob"], ["bindings", "tcp", "192.0.2.0/24", "80", "extra"], ["--json", "frob"]));

    [Fact]
    public void BadArgumentVectorsGiveOneCleanLineAndChangeNothing()
    {
        var trials = FuzzBudget.Trials(250);
        var failures = 0;
        try
        {
            BadArguments.Sample(args => AssertRefused(_sandbox.Run(args)), iter: trials, threads: 1, print: Print);
        }
        catch
        {
            failures++;
            throw;
        }
        finally
        {
            FuzzBudget.Record("cli-arguments", "bad argument vectors: non-zero exit, one clean line, state unchanged", trials, failures,
                "every command with one generated bad word (label, protocol, prefix, port, end point, pid, family), an unknown option, or a wrong word count; in-process against a loaded dispatcher with 4 bindings");
        }
    }

    /// <summary>Bad global options, run without the sandbox's own --netns and --bpffs so that the bad one is the only one.</summary>
    [Fact]
    public void BadGlobalOptionsGiveOneCleanLine()
    {
        var bpffs = Gen.OneOf("/tmp", "/nonexistent", "", "/proc", "/dev/null", "relative\u001b", _sandbox.BpfFs.Path + "/sklookup/../..");
        var netns = Gen.OneOf("/tmp", "/nonexistent", "", "/proc/self/ns/mnt", "/proc/self/ns/user", "/dev/null", "/proc/0/ns/net", "x\0y");
        var gen = Gen.OneOf(
            Gen.Select(bpffs, Gen.OneOf("status", "bindings", "load"), (path, command) => new[] { command, "--netns", _sandbox.NetNsPath, "--bpffs", path }),
            Gen.Select(netns, Gen.OneOf("status", "bindings", "load", "unload"), (path, command) => new[] { command, "--netns", path, "--bpffs", _sandbox.BpfFs.Path }));
        var trials = FuzzBudget.Trials(40);
        var failures = 0;
        try
        {
            gen.Sample(args =>
            {
                var result = Sandbox.RunRaw(args);
                if (args.Contains(_sandbox.BpfFs.Path + "/sklookup/../..") && result.ExitCode == 0)
                    return; // A path that does lead to the sandbox's bpffs: a good case.
                AssertRefused(result);
            }, iter: trials, threads: 1, print: Print);
        }
        catch
        {
            failures++;
            throw;
        }
        finally
        {
            FuzzBudget.Record("cli-arguments", "bad --netns and --bpffs paths: one clean line, state unchanged", trials, failures,
                "status, bindings, load and unload with a --bpffs that is no bpffs, or a --netns that is no network namespace (other namespace types, files, missing paths)");
        }
    }

    [Fact]
    public void BadApplyFilesGiveOneCleanLineAndChangeNothing()
    {
        var trials = FuzzBudget.Trials(150);
        var failures = 0;
        var path = Path.Combine(_directory, "bindings.json");
        try
        {
            Files.BadDocument.Sample(bytes =>
            {
                File.WriteAllBytes(path, bytes);
                AssertRefused(_sandbox.Run("apply", path));
            }, iter: trials, threads: 1, print: bytes => Files.Print(bytes));
        }
        catch
        {
            failures++;
            throw;
        }
        finally
        {
            FuzzBudget.Record("apply-files", "bad apply files (tubular and ours) through the CLI: non-zero exit, one clean line, state unchanged", trials, failures,
                "a valid document of 1 to 6 entries (tubular's or ours) with one mutation: a bad value in one entry, a syntax error lenient readers accept (trailing comma, comment, single quotes, duplicate field), truncation, invalid UTF-8, wrong types, deep nesting; written to a regular file and applied in-process");
        }
    }

    /// <summary>Fails unless the run was refused the way every bad input must be, and left the state alone.</summary>
    private void AssertRefused(CliResult result)
    {
        Assert.True(result.ExitCode != 0, $"exit 0 for a bad case; stdout: {result.Output}");
        Assert.Equal("", result.Output);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{lines.Length} lines on stderr: {result.Error}");
        if (lines[0].StartsWith('{'))
            Assert.True(System.Text.Json.JsonDocument.Parse(lines[0]).RootElement.GetProperty("error").GetProperty("exitCode").GetInt32() == result.ExitCode, lines[0]); // --json
        else
            Assert.StartsWith("sklookup: ", lines[0]);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.DoesNotContain("this is a bug", result.Error);
        foreach (var c in lines[0])
            Assert.False(char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format, $"U+{(int)c:X4} in: {lines[0]}");
        Assert.Equal(_before, Snapshot());
    }

    internal static string Print(string[] args)
    {
        var text = new StringBuilder("[");
        foreach (var arg in args)
            text.Append(System.Text.Json.JsonSerializer.Serialize(arg)).Append(", ");
        return text.Append(']').ToString();
    }

    /// <summary>The command and its words, one of which (chosen at random) comes from the bad generator.</summary>
    private static Gen<string[]> OneBad(string command, Gen<string>[] good, Gen<string>[] bad) =>
        Gen.Int[0, good.Length - 1].SelectMany(k => Sequence([.. good.Select((g, i) => i == k ? bad[i] : g)]))
            .Select(words => (string[])[.. command.Split(' '), .. words]);

    private static Gen<string[]> Sequence(Gen<string>[] gens) =>
        gens.Aggregate(Gen.Const(Array.Empty<string>()), (all, next) => all.SelectMany(words => next.Select(word => (string[])[.. words, word])));
}
