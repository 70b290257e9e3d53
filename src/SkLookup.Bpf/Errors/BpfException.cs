namespace SkLookup.Bpf;

/// <summary>A kernel operation of the eBPF core failed. The raw errno stays on the exception.</summary>
public class BpfException : Exception
{
    /// <summary>Creates an exception for a failed operation.</summary>
    public BpfException(string message, int errno, BpfErrorReason reason, Exception? inner = null)
        : base(message, inner)
    {
        Errno = errno;
        Reason = reason;
    }

    /// <summary>The errno the kernel returned, or 0 where the failure was detected in user space.</summary>
    public int Errno { get; }

    /// <summary>What kind of failure this is.</summary>
    public BpfErrorReason Reason { get; }
}
