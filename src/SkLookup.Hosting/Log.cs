using Microsoft.Extensions.Logging;

namespace SkLookup.Hosting;

/// <summary>What the hosted service tells the app's log.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "sk_lookup: registered {Socket} for '{Label}' ({Family} {Protocol}, destination {Id}, cookie {Cookie}) in the dispatcher of network namespace {NamespaceInode}")]
    public static partial void Registered(ILogger logger, string socket, string label, string family, string protocol, uint id, ulong? cookie, ulong namespaceInode);

    [LoggerMessage(2, LogLevel.Warning, "sk_lookup: label '{Label}' has no bindings, so no traffic reaches its sockets yet: add some with 'sklookup bind {Label} PROTOCOL PREFIX PORT'")]
    public static partial void NoBindings(ILogger logger, string label);

    [LoggerMessage(3, LogLevel.Warning, "sk_lookup: there are no sockets to register: call Register, RegisterSystemdSockets or ListenSkLookup")]
    public static partial void NothingToRegister(ILogger logger);

    [LoggerMessage(4, LogLevel.Information, "sk_lookup: the process was not socket-activated by systemd, so there are no activated sockets to register")]
    public static partial void NotActivated(ILogger logger);

    [LoggerMessage(5, LogLevel.Debug, "sk_lookup: left systemd socket {Socket} unregistered: no label for it")]
    public static partial void SystemdSocketSkipped(ILogger logger, string socket);

    [LoggerMessage(6, LogLevel.Information, "sk_lookup: unregistered the socket of '{Label}' ({Family} {Protocol})")]
    public static partial void Unregistered(ILogger logger, string label, string family, string protocol);

    [LoggerMessage(7, LogLevel.Information, "sk_lookup: kept the socket of '{Label}' ({Family} {Protocol}) registered: it is no longer ours (cookie {Cookie}, ours was {OurCookie})")]
    public static partial void NotOurs(ILogger logger, string label, string family, string protocol, ulong? cookie, ulong? ourCookie);

    [LoggerMessage(8, LogLevel.Warning, "sk_lookup: could not unregister the sockets at stop")]
    public static partial void UnregisterFailed(ILogger logger, Exception exception);

    [LoggerMessage(9, LogLevel.Critical, "{Message}")]
    public static partial void StartFailed(ILogger logger, string message);

    [LoggerMessage(10, LogLevel.Information, "sk_lookup: {Change} binding {Binding}")]
    public static partial void BindingChanged(ILogger logger, string change, string binding);

    [LoggerMessage(11, LogLevel.Information, "sk_lookup: ... and {Count} more changes")]
    public static partial void MoreChanges(ILogger logger, int count);

    [LoggerMessage(12, LogLevel.Information, "sk_lookup: dry run: applying the bindings of {Labels} would add {Added} and remove {Removed}; nothing changed")]
    public static partial void DryRun(ILogger logger, string labels, int added, int removed);

    [LoggerMessage(13, LogLevel.Information, "sk_lookup: applied the bindings of {Labels}: added {Added}, removed {Removed}, {Total} in all")]
    public static partial void Applied(ILogger logger, string labels, int added, int removed, int total);

    [LoggerMessage(14, LogLevel.Error, "{Message}; the bindings stay as they were")]
    public static partial void ReapplyFailed(ILogger logger, string message);
}
