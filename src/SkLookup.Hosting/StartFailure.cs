using System.Net.Sockets;
using Microsoft.Extensions.Options;
using SkLookup.Bpf;

namespace SkLookup.Hosting;

/// <summary>
/// A reason the sk_lookup service could not start, as one line (what failed, why, what to do) and the
/// process exit code the host stops with. The codes are those of the <c>sklookup</c> tool, so a unit's
/// <c>ExecStart</c> and the app fail alike.
/// </summary>
internal sealed class StartFailure(string message, int exitCode, Exception? inner = null) : Exception(message, inner)
{
    public const int Failure = 1, Usage = 2, NotLoaded = 3, VersionMismatch = 4, LockTimeout = 5, PermissionDenied = 6,
        NotFound = 7, Conflict = 8, NotSupported = 9, DamagedState = 10;

    /// <summary>The exit code the host stops with.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>Why binding a socket the app asked for failed, e.g. "127.0.0.1:8080 is in use".</summary>
    public static StartFailure Bind(string what, System.Net.IPEndPoint? endPoint, SocketException exception) => exception.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => new StartFailure(
            $"sk_lookup: cannot listen on {Where(endPoint)} for {what}: the address is in use by another socket: stop what holds it (ss -lnp 'sport = :{Port(endPoint)}'), or configure another address", Conflict, exception),
        SocketError.AddressNotAvailable => new StartFailure(
            $"sk_lookup: cannot listen on {Where(endPoint)} for {what}: the address is not configured on this host: bind a local address such as 127.0.0.1 or ::1", Usage, exception),
        SocketError.AccessDenied => new StartFailure(
            $"sk_lookup: cannot listen on {Where(endPoint)} for {what}: permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a higher port", PermissionDenied, exception),
        _ => new StartFailure($"sk_lookup: cannot listen on {Where(endPoint)} for {what}: {exception.Message}", Failure, exception),
    };

    /// <summary>The failure for an exception the start ran into, or null for one that is a bug (which keeps its stack trace).</summary>
    public static StartFailure? From(Exception exception) => exception switch
    {
        StartFailure failure => failure,
        SteeringException steering => new StartFailure(Prefixed(steering.Message), CodeOf(steering.Error), steering),
        BpfNotSupportedException notSupported => new StartFailure(Prefixed(notSupported.Message), NotSupported, notSupported),
        BpfException bpf => new StartFailure(Prefixed(bpf.Message), bpf.Reason == BpfErrorReason.PermissionDenied ? PermissionDenied : Failure, bpf),
        OptionsValidationException invalid => new StartFailure(Prefixed($"the configuration is not valid: {string.Join("; ", invalid.Failures)}"), Usage, invalid),
        UnauthorizedAccessException denied => new StartFailure(Prefixed($"{denied.Message}: run as root, or as a member of the state's group (see \"Who may do what\" in the README)"), PermissionDenied, denied),
        _ => null,
    };

    private static string Prefixed(string message)
    {
        var line = message.ReplaceLineEndings(" ");
        return line.StartsWith("sk_lookup:", StringComparison.Ordinal) ? line : "sk_lookup: " + line;
    }

    private static int CodeOf(SteeringError error) => error switch
    {
        SteeringError.NotLoaded => NotLoaded,
        SteeringError.VersionMismatch => VersionMismatch,
        SteeringError.LockTimeout => LockTimeout,
        SteeringError.PermissionDenied => PermissionDenied,
        SteeringError.NotFound => NotFound,
        SteeringError.AlreadyExists or SteeringError.CapacityExceeded => Conflict,
        SteeringError.DamagedState => DamagedState,
        SteeringError.InvalidPrefix or SteeringError.InvalidPort or SteeringError.InvalidProtocol or SteeringError.InvalidFamily
            or SteeringError.InvalidLabel or SteeringError.InvalidFile or SteeringError.BpfFsMissing or SteeringError.WrongSocket => Usage,
        _ => Failure,
    };

    private static string Where(System.Net.IPEndPoint? endPoint) => endPoint?.ToString() ?? "the address the socket factory binds";

    private static string Port(System.Net.IPEndPoint? endPoint) => endPoint?.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "PORT";
}
