using System.Runtime.InteropServices;

namespace SkLookup.Bpf;

/// <summary>Errno values the eBPF core interprets, and the one place where an errno becomes an exception.</summary>
public static class Errno
{
#pragma warning disable CS1591 // The kernel's own names document these.
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
        EFAULT = 14, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EINVAL = 22, ENOSPC = 28, ERANGE = 34,
        E2BIG = 7, ENOTSOCK = 88, EPROTOTYPE = 91, ENOPROTOOPT = 92, ESOCKTNOSUPPORT = 94, EOPNOTSUPP = 95,
        EAFNOSUPPORT = 97, ENOTCONN = 107, ECONNREFUSED = 111, ENOTSUPP = 524, ENOTEMPTY = 39, EWOULDBLOCK = 11,
        ETIMEDOUT = 110;
#pragma warning restore CS1591

    /// <summary>The symbolic name of an errno, e.g. "EPERM".</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM", ENOENT => "ENOENT", ESRCH => "ESRCH", EINTR => "EINTR", EBADF => "EBADF",
        EAGAIN => "EAGAIN", ENOMEM => "ENOMEM", EACCES => "EACCES", EFAULT => "EFAULT", EBUSY => "EBUSY",
        EEXIST => "EEXIST", EXDEV => "EXDEV", ENOTDIR => "ENOTDIR", EINVAL => "EINVAL", ENOSPC => "ENOSPC",
        ERANGE => "ERANGE", E2BIG => "E2BIG", ENOTSOCK => "ENOTSOCK", EPROTOTYPE => "EPROTOTYPE",
        ENOPROTOOPT => "ENOPROTOOPT", ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT", EOPNOTSUPP => "EOPNOTSUPP",
        EAFNOSUPPORT => "EAFNOSUPPORT", ENOTCONN => "ENOTCONN", ECONNREFUSED => "ECONNREFUSED",
        ENOTSUPP => "ENOTSUPP", ENOTEMPTY => "ENOTEMPTY", ETIMEDOUT => "ETIMEDOUT",
        _ => $"errno {errno}",
    };

    /// <summary>The reason that an errno stands for.</summary>
    public static BpfErrorReason Reason(int errno) => errno switch
    {
        EPERM or EACCES => BpfErrorReason.PermissionDenied,
        EINVAL => BpfErrorReason.InvalidArgument,
        ENOENT => BpfErrorReason.NotFound,
        EEXIST => BpfErrorReason.AlreadyExists,
        E2BIG => BpfErrorReason.TooBig,
        ENOMEM or ENOSPC => BpfErrorReason.OutOfMemory,
        EBUSY or EAGAIN => BpfErrorReason.Busy,
        EOPNOTSUPP or ENOTSUPP => BpfErrorReason.NotSupported,
        EBADF => BpfErrorReason.BadFileDescriptor,
        ERANGE => BpfErrorReason.OutOfRange,
        EAFNOSUPPORT or EPROTOTYPE or ESOCKTNOSUPPORT or ENOTSOCK => BpfErrorReason.WrongSocket,
        _ => BpfErrorReason.Other,
    };

    /// <summary>Builds the exception for a failed <paramref name="operation"/>, with a hint where one helps.</summary>
    public static BpfException ToException(string operation, int errno)
    {
        var message = $"{operation}: {Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})";
        if (errno is EPERM)
            message += Features.MemlockLimit.ExplainPermissionDenied() is { } memlock
                ? $"; {memlock}"
                : "; run as root or grant CAP_BPF with CAP_NET_ADMIN (CAP_SYS_ADMIN on older kernels), and check that the memlock limit is not too low";
        return new BpfException(message, errno, Reason(errno));
    }

    /// <summary>Throws for the errno of the last P/Invoke call.</summary>
    internal static BpfException Last(string operation) => ToException(operation, Marshal.GetLastPInvokeError());
}
