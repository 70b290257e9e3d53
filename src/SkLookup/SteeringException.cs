namespace SkLookup;

/// <summary>Why a steering operation failed, so that callers (and the CLI's exit codes) never parse messages.</summary>
public enum SteeringError
{
    /// <summary>A prefix that does not parse, has host bits set, or is a v4-mapped IPv6 prefix.</summary>
    InvalidPrefix,
    /// <summary>A port outside 0-65535.</summary>
    InvalidPort,
    /// <summary>A protocol other than tcp or udp.</summary>
    InvalidProtocol,
    /// <summary>A family other than ipv4 or ipv6.</summary>
    InvalidFamily,
    /// <summary>A label that is empty, too long, or has characters that are not allowed.</summary>
    InvalidLabel,
    /// <summary>A bindings file that does not parse.</summary>
    InvalidFile,
    /// <summary>The binding, destination or label does not exist.</summary>
    NotFound,
    /// <summary>The binding exists already (for another label).</summary>
    AlreadyExists,
    /// <summary>The socket is of the wrong kind, family, state, or namespace for the destination.</summary>
    WrongSocket,
    /// <summary>The dispatcher is not loaded in this namespace.</summary>
    NotLoaded,
    /// <summary>The loaded dispatcher is from another version: run upgrade.</summary>
    VersionMismatch,
    /// <summary>The state in bpffs is damaged or half-built.</summary>
    DamagedState,
    /// <summary>Another writer holds the lock, and the timeout expired.</summary>
    LockTimeout,
    /// <summary>A fixed capacity (destinations or bindings) is exhausted.</summary>
    CapacityExceeded,
    /// <summary>bpffs is missing at the given path, or it is not bpffs.</summary>
    BpfFsMissing,
    /// <summary>Missing privileges.</summary>
    PermissionDenied,
    /// <summary>A kernel call failed; the inner <see cref="SkLookup.Bpf.BpfException"/> says how.</summary>
    Kernel,
}

/// <summary>A steering operation failed. The message is one line: what failed, why, and what to do.</summary>
public sealed class SteeringException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SteeringException(SteeringError error, string message, Exception? inner = null) : base(message, inner) => Error = error;

    /// <summary>What kind of failure this is.</summary>
    public SteeringError Error { get; }
}
