using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkLookup.Bpf;

namespace SkLookup.Cli;

/// <summary>What one command invocation works with: its arguments, the global options, and the output.</summary>
internal sealed class CommandContext
{
    // Relaxed escaping: the output goes to a terminal or a JSON parser, never into HTML, so "+" stays "+".
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Creates the context of the command that <paramref name="parse"/> selected.</summary>
    public CommandContext(ParseResult parse, string command, CancellationToken cancellation = default)
    {
        Parse = parse;
        Command = command;
        Cancellation = cancellation;
        Out = parse.InvocationConfiguration.Output;
        Error = parse.InvocationConfiguration.Error;
        Json = parse.GetValue(GlobalOptions.Json);
        NetNsPath = parse.GetValue(GlobalOptions.NetNs);
        BpfFsPath = parse.GetValue(GlobalOptions.BpfFs) ?? BpfFileSystem.DefaultPath;
        _lockTimeoutSeconds = parse.GetValue(GlobalOptions.LockTimeout);
    }

    private readonly double? _lockTimeoutSeconds;

    /// <summary>The <c>--lock-timeout</c>, or null for the library's default; out of range is a usage error.</summary>
    public TimeSpan? LockTimeout => _lockTimeoutSeconds switch
    {
        null => null,
        >= 0 and <= 3600 and var seconds => TimeSpan.FromSeconds(seconds),
        var seconds => throw new CliException(ExitCode.Usage, $"--lock-timeout {seconds} is out of range: give 0 to 3600 seconds"),
    };

    /// <summary>The parse result.</summary>
    public ParseResult Parse { get; }

    /// <summary>The command's words, e.g. "prog list", for error messages.</summary>
    public string Command { get; }

    /// <summary>Signalled on Ctrl+C / SIGTERM for long-running commands.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Standard output.</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error.</summary>
    public TextWriter Error { get; }

    /// <summary>True if <c>--json</c> was given.</summary>
    public bool Json { get; }

    /// <summary>The <c>--netns</c> path, or null for the current namespace.</summary>
    public string? NetNsPath { get; }

    /// <summary>The <c>--bpffs</c> path.</summary>
    public string BpfFsPath { get; }

    /// <summary>The value of <paramref name="argument"/>.</summary>
    public T Get<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    /// <summary>The value of <paramref name="option"/>.</summary>
    public T? Get<T>(Option<T> option) => Parse.GetValue(option);

    /// <summary>Opens the namespace of <c>--netns</c>, or the current one; a bad path is a usage error.</summary>
    public NetworkNamespace OpenNamespace()
    {
        if (NetNsPath is null)
            return NetworkNamespace.Current();
        try
        {
            return NetworkNamespace.Open(NetNsPath);
        }
        catch (BpfException exception)
        {
            throw new CliException(ExitCode.Usage,
                $"--netns {NetNsPath}: {exception.Message}; pass a network namespace file such as /proc/PID/ns/net or /run/netns/NAME", exception);
        }
    }

    /// <summary>The <c>--bpffs</c> path after checking that it is a bpffs mount; anything else is a usage error.</summary>
    public string RequireBpfFs()
    {
        try
        {
            BpfFileSystem.EnsureBpfFs(BpfFsPath);
            return BpfFsPath;
        }
        catch (BpfException exception)
        {
            throw new CliException(ExitCode.Usage, $"--bpffs {exception.Message}", exception);
        }
    }

    /// <summary>Opens the dispatcher of the namespace: shared for reading, exclusive with <paramref name="write"/>.</summary>
    public Dispatcher OpenDispatcher(bool write)
    {
        var bpffs = RequireBpfFs();
        using var netns = OpenNamespace();
        return Dispatcher.Open(netns, bpffs, write, LockTimeout);
    }

    /// <summary>A progress line on stderr, shown only if stderr is a terminal and the command takes long.</summary>
    public Progress StartProgress() => new(Error, Command, CliApp.ErrorIsTerminal);

    /// <summary>Prints a result: <paramref name="json"/> with <c>--json</c>, else what <paramref name="text"/> writes.</summary>
    public void Write(JsonNode json, Action<TextWriter> text)
    {
        if (Json)
            Out.WriteLine(json.ToJsonString(s_indented));
        else
            text(Out);
        Out.Flush();
    }
}
