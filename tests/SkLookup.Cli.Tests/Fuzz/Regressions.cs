using System.Text;

namespace SkLookup.Cli.Tests.Fuzz;

/// <summary>
/// Every bad input that ever got through: the cases of the security review (issue 13) and every case the
/// fuzzer has found since, replayed on each run. Add a fuzzer's shrunk case here when it fails.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class Regressions : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("sklookup-regress-").FullName;

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        _sandbox.Dispose();
    }

    /// <summary>Argument vectors that were accepted with another meaning, or answered badly.</summary>
    public static TheoryData<string[]> Arguments => new()
    {
        // The review: legacy IPv4 forms that bound another address (010.0.0.1 bound 8.0.0.1).
        new[] { "bind", "web", "tcp", "010.0.0.1", "80" },
        new[] { "bind", "web", "tcp", "1.2.3", "80" },
        new[] { "bind", "web", "tcp", "0x0a000001", "80" },
        new[] { "bind", "web", "tcp", "4294967295", "80" },
        new[] { "bind", "web", "tcp", "012.1/16", "80" },
        // The review: an unknown option read as a label, and raw ESC and NUL echoed into the error line.
        new[] { "status", "--frob" },
        new[] { "bind", "a\u001b[31m", "tcp", "192.0.2.0/24", "80" },
        new[] { "bind", "a\0", "tcp", "192.0.2.0/24", "80" },
        // The review: invalid UTF-8 (U+FFFD after decoding) made different labels collide.
        new[] { "bind", "\ufffd", "tcp", "192.0.2.0/24", "80" },
        // Leading zeros in lengths and ports, zone indexes, end points.
        new[] { "bind", "web", "tcp", "192.0.2.0/024", "80" },
        new[] { "bind", "web", "tcp", "192.0.2.0/24", "080" },
        new[] { "bind", "web", "tcp", "fe80::1%1", "80" },
        new[] { "explain", "tcp", "010.0.0.1:80" },
        new[] { "metrics", "--listen", "0177.0.0.1:9090" },
        new[] { "register-pid", "1", "web", "tcp", "0x7f000001", "80" },
        // Found by the fuzzer: POSIX bundling read "-h4ig1jfkkscz6f:h5" as -h, printed the help and exited 0.
        new[] { "bind", "-h4ig1jfkkscz6f:h5", "Udp", "4f00::/10", "56223" },
        new[] { "status", "-hv" },
    };

    /// <summary>"@FILE" is a word, not a response file: the tool runs as root and must not read files into its arguments (and so into its errors).</summary>
    [Fact]
    public void AnAtWordIsNotAResponseFile()
    {
        _sandbox.Run("load").AssertOk();
        var file = Path.Combine(_directory, "secret");
        File.WriteAllText(file, "--s3cret-token");

        var result = _sandbox.Run("status", "@" + file);

        result.AssertOneLineError(7); // the label "@/..." has nothing: not found
        Assert.DoesNotContain("s3cret", result.Error);
    }

    /// <summary>Apply files that were accepted with another meaning, or read without bound.</summary>
    public static TheoryData<string> FileContents => new()
    {
        // The review (and issue 12): a trailing comma, and host bits cleared silently in a tubular entry.
        """{"bindings":[{"label":"a","prefix":"192.0.2.0/24"},]}""",
        """{"bindings":[{"label":"bar","prefix":"::1/64"}]}""",
        """{"bindings":[{"label":"a","prefix":"012.1/16"}]}""",
        // -0 as a port number was read as 0 (any port).
        """{"bindings":[{"label":"a","prefix":"192.0.2.0/24","port":-0}]}""",
        // Comments and duplicate fields were accepted.
        """{"bindings":[] /* c */}""",
        """{"bindings":[{"label":"a","label":"b","prefix":"192.0.2.0/24"}]}""",
        // Found by the fuzzer: a NUL in a protocol reached the library's message raw.
        """{"bindings":[{"label":"web","protocol":"tcp\u0000","prefix":"192.0.2.0/24"}]}""",
        // Found by the fuzzer: an IPv6 group with ESC reached the message raw.
        """{"bindings":[{"label":"web","prefix":"12345\u001b::/16"}]}""",
    };

    /// <summary>Library messages (not only the CLI's lines) are clean: the fuzzer found these raw.</summary>
    [Theory]
    [InlineData("tcp\u0000")]
    [InlineData("udp\u001b[2J")]
    public void ProtocolMessagesAreEscaped(string protocol) =>
        LibraryFuzzTests.AssertOneCleanLine(Assert.Throws<SteeringException>(() => ProtocolNames.ParseProtocol(protocol)).Message);

    [Theory]
    [InlineData("12345\u001b::")]
    [InlineData("::ffff:1.2\u001b.3.4")]
    public void PrefixMessagesAreEscaped(string prefix) =>
        LibraryFuzzTests.AssertOneCleanLine(Assert.Throws<SteeringException>(() => Binding.ParsePrefix(prefix)).Message);

    [Theory]
    [MemberData(nameof(Arguments))]
    public void BadArgumentsStayRefused(string[] args)
    {
        _sandbox.Run("load").AssertOk();
        var before = _sandbox.Run("status", "--json", "--no-owners").AssertOk().Output;

        var result = _sandbox.Run(args);

        AssertRefused(result);
        Assert.Equal(before, _sandbox.Run("status", "--json", "--no-owners").AssertOk().Output);
    }

    [Theory]
    [MemberData(nameof(FileContents))]
    public void BadFilesStayRefused(string text)
    {
        _sandbox.Run("load").AssertOk();
        var before = _sandbox.Run("status", "--json", "--no-owners").AssertOk().Output;
        var path = Path.Combine(_directory, "bindings.json");
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));

        AssertRefused(_sandbox.Run("apply", path));
        Assert.Equal(before, _sandbox.Run("status", "--json", "--no-owners").AssertOk().Output);
    }

    private static void AssertRefused(CliResult result)
    {
        result.AssertOneLineError(result.ExitCode == 0 ? 2 : result.ExitCode);
        Assert.NotEqual(0, result.ExitCode);
        foreach (var c in result.Error.TrimEnd('\n'))
            Assert.False(char.IsControl(c), $"U+{(int)c:X4} in: {result.Error}");
    }
}
