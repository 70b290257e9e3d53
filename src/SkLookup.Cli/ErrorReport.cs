using System.Net.Sockets;
using System.Text.Json.Nodes;
using SkLookup.Bpf;

namespace SkLookup.Cli;

/// <summary>
/// Turns any exception into one line on stderr and an exit code. This is the only place where errors
/// are printed, so a user never sees a stack trace, and scripts can rely on the codes.
/// </summary>
internal static class ErrorReport
{
    /// <summary>Writes the error for <paramref name="command"/> and returns its exit code.</summary>
    public static int Write(TextWriter error, bool json, string command, Exception exception)
    {
        var (code, message) = Classify(exception);
        // The steering layer's messages say what to do already; kernel and tool errors get a hint by their code.
        Write(error, json, command, code, message, hint: exception is not SteeringException);
        return (int)code;
    }

    /// <summary>Writes one error line: text, or a JSON object when <paramref name="json"/> is set.</summary>
    public static void Write(TextWriter error, bool json, string command, ExitCode code, string message, bool hint = true)
    {
        message = OneLine(message);
        if (hint && !message.Contains(';') && Hint(code, command) is { } what)
            message += "; " + what;
        if (json)
        {
            var node = new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["command"] = command,
                    ["exitCode"] = (int)code,
                    ["kind"] = Kind(code),
                    ["message"] = message,
                },
            };
            error.WriteLine(node.ToJsonString());
        }
        else
        {
            error.WriteLine(command.Length == 0 ? $"sklookup: {message}" : $"sklookup: {command}: {message}");
        }
        error.Flush();
    }

    /// <summary>The exit code and the message for <paramref name="exception"/>.</summary>
    public static (ExitCode Code, string Message) Classify(Exception exception) => exception switch
    {
        CliException cli => (cli.ExitCode, cli.Message),
        SteeringException steering => (FromSteering(steering), steering.Message),
        BpfNotSupportedException notSupported => (ExitCode.NotSupported, notSupported.Message),
        BpfException bpf => (FromBpf(bpf.Reason), bpf.Message),
        UnauthorizedAccessException access => (ExitCode.PermissionDenied, access.Message),
        FileNotFoundException or DirectoryNotFoundException => (ExitCode.NotFound, exception.Message),
        SocketException socket => (ExitCode.Failure, $"{socket.Message} ({socket.SocketErrorCode})"),
        IOException io => (ExitCode.Failure, io.Message),
        OperationCanceledException => (ExitCode.Failure, "interrupted"),
        _ => (ExitCode.Failure, $"unexpected {exception.GetType().Name}: {exception.Message}; this is a bug in sklookup, please report it with the command line"),
    };

    private static ExitCode FromSteering(SteeringException exception) => exception.Error switch
    {
        SteeringError.InvalidPrefix or SteeringError.InvalidPort or SteeringError.InvalidProtocol or SteeringError.InvalidFamily
            or SteeringError.InvalidLabel or SteeringError.InvalidFile or SteeringError.WrongSocket or SteeringError.BpfFsMissing => ExitCode.Usage,
        SteeringError.NotFound => ExitCode.NotFound,
        SteeringError.AlreadyExists or SteeringError.CapacityExceeded => ExitCode.Conflict,
        SteeringError.NotLoaded => ExitCode.NotLoaded,
        SteeringError.VersionMismatch => ExitCode.VersionMismatch,
        SteeringError.DamagedState => ExitCode.DamagedState,
        SteeringError.LockTimeout => ExitCode.LockTimeout,
        SteeringError.PermissionDenied => ExitCode.PermissionDenied,
        SteeringError.Kernel => exception.InnerException switch
        {
            BpfNotSupportedException => ExitCode.NotSupported,
            BpfException bpf => FromBpf(bpf.Reason),
            _ => ExitCode.Failure,
        },
        _ => ExitCode.Failure,
    };

    private static ExitCode FromBpf(BpfErrorReason reason) => reason switch
    {
        BpfErrorReason.PermissionDenied => ExitCode.PermissionDenied,
        BpfErrorReason.NotFound => ExitCode.NotFound,
        BpfErrorReason.AlreadyExists or BpfErrorReason.TooBig => ExitCode.Conflict,
        BpfErrorReason.NotSupported => ExitCode.NotSupported,
        _ => ExitCode.Failure,
    };

    private static string? Hint(ExitCode code, string command) => code switch
    {
        ExitCode.Usage => command.Length == 0 ? "see 'sklookup --help'" : $"see 'sklookup {command} --help'",
        ExitCode.NotLoaded => "run 'sklookup load' first",
        ExitCode.VersionMismatch => "run 'sklookup upgrade'",
        ExitCode.LockTimeout => "another sklookup is changing the state: try again",
        ExitCode.PermissionDenied => "run as root, or with CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN",
        ExitCode.DamagedState => "run 'sklookup unload', then 'sklookup load'",
        _ => null,
    };

    /// <summary>"not-loaded" for <see cref="ExitCode.NotLoaded"/>: a stable word for JSON consumers.</summary>
    public static string Kind(ExitCode code) => code switch
    {
        ExitCode.Ok => "ok",
        ExitCode.Failure => "failure",
        ExitCode.Usage => "usage",
        ExitCode.NotLoaded => "not-loaded",
        ExitCode.VersionMismatch => "version-mismatch",
        ExitCode.LockTimeout => "lock-timeout",
        ExitCode.PermissionDenied => "permission-denied",
        ExitCode.NotFound => "not-found",
        ExitCode.Conflict => "conflict",
        ExitCode.NotSupported => "not-supported",
        ExitCode.DamagedState => "damaged-state",
        _ => "failure",
    };

    /// <summary>One line with every control and format character escaped, so no message can drive the terminal.</summary>
    internal static string OneLine(string message) =>
        TextEscape.Sanitize(message).ReplaceLineEndings(" | ").Trim();
}
