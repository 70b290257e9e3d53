namespace SkLookup.Bpf;

/// <summary>Why a kernel operation failed, so that callers never parse message text.</summary>
public enum BpfErrorReason
{
    /// <summary>An errno without a more specific meaning here.</summary>
    Other,
    /// <summary>EPERM or EACCES outside the verifier: missing CAP_BPF / CAP_NET_ADMIN / CAP_SYS_ADMIN, or a locked-down kernel.</summary>
    PermissionDenied,
    /// <summary>EINVAL: an argument the kernel does not accept (a bad size, flag or type).</summary>
    InvalidArgument,
    /// <summary>ENOENT: no such key, object, or pinned path.</summary>
    NotFound,
    /// <summary>EEXIST: the key or path exists already.</summary>
    AlreadyExists,
    /// <summary>E2BIG: a map is full, or an attach point holds its maximum of programs.</summary>
    TooBig,
    /// <summary>ENOMEM or ENOSPC: the kernel could not allocate, or memlock is exhausted.</summary>
    OutOfMemory,
    /// <summary>EBUSY or EAGAIN.</summary>
    Busy,
    /// <summary>The kernel lacks the feature (EOPNOTSUPP, ENOTSUPP, or an unknown command/type).</summary>
    NotSupported,
    /// <summary>The verifier rejected a program; see <see cref="BpfVerifierException"/>.</summary>
    VerifierRejected,
    /// <summary>EBADF: a file descriptor that is closed or of the wrong kind.</summary>
    BadFileDescriptor,
    /// <summary>A pinned or existing object does not match what was asked for.</summary>
    Incompatible,
    /// <summary>ERANGE: a value out of the range the kernel accepts.</summary>
    OutOfRange,
    /// <summary>EAFNOSUPPORT, EPROTOTYPE, ESOCKTNOSUPPORT: a socket of the wrong family, protocol or state.</summary>
    WrongSocket,
}
