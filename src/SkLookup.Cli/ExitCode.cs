namespace SkLookup.Cli;

/// <summary>
/// The tool's exit codes. They are part of its interface (scripts branch on them), so the numbers never
/// change; <see cref="ExitCodes.Describe"/> is the table printed by <c>--help</c> and the README.
/// </summary>
internal enum ExitCode
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>A runtime failure: a kernel call failed, traffic did not arrive, or anything unexpected.</summary>
    Failure = 1,
    /// <summary>Bad arguments: a parse error, or a label, protocol, family, prefix, port, file or path that is not valid.</summary>
    Usage = 2,
    /// <summary>The dispatcher is not loaded in the namespace.</summary>
    NotLoaded = 3,
    /// <summary>The loaded dispatcher is from another version.</summary>
    VersionMismatch = 4,
    /// <summary>Another writer held the lock until the timeout.</summary>
    LockTimeout = 5,
    /// <summary>Missing privileges.</summary>
    PermissionDenied = 6,
    /// <summary>The binding, label, destination, program, link, process or socket does not exist.</summary>
    NotFound = 7,
    /// <summary>The binding exists already for another label, a pin exists already, or a capacity is exhausted.</summary>
    Conflict = 8,
    /// <summary>The kernel lacks a feature the command needs.</summary>
    NotSupported = 9,
    /// <summary>The state in bpffs is damaged or half-built.</summary>
    DamagedState = 10,
}

/// <summary>The documentation of <see cref="ExitCode"/>.</summary>
internal static class ExitCodes
{
    /// <summary>The exit code table, one line per code, as <c>--help</c> prints it.</summary>
    public static string Describe() => """
        Exit codes:
          0   ok
          1   runtime failure (a kernel call failed, or something unexpected)
          2   usage error (bad arguments, label, protocol, family, prefix, port, file, --netns or --bpffs path)
          3   the dispatcher is not loaded in the namespace: run 'sklookup load'
          4   the loaded dispatcher is from another version: run 'sklookup upgrade'
          5   another writer held the lock until the timeout: try again
          6   permission denied: run as root, or with CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN
          7   not found (binding, label, destination, program, link, process or socket)
          8   conflict (the binding exists for another label, a pin exists already, or a capacity is exhausted)
          9   the kernel lacks a feature the command needs
          10  the state in bpffs is damaged: run 'sklookup unload', then 'sklookup load'
        """;
}
