namespace SkLookup.Bpf.Tests;

/// <summary>Errno becomes a typed exception in one place, keeps the raw number, and adds a hint where one helps.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class ErrnoTests
{
    [Fact]
    public void PermissionDeniedHintsAtCapabilitiesAndMemlock()
    {
        var error = Errno.ToException("create map 'x'", Errno.EPERM);

        Assert.Equal(Errno.EPERM, error.Errno);
        Assert.Equal(BpfErrorReason.PermissionDenied, error.Reason);
        Assert.StartsWith("create map 'x': EPERM (", error.Message);
        Assert.Contains("CAP_BPF", error.Message);
        Assert.Contains("CAP_NET_ADMIN", error.Message);
        Assert.Contains("memlock", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void OtherErrorsCarryNoCapabilityHint()
    {
        var error = Errno.ToException("lookup", Errno.ENOENT);

        Assert.DoesNotContain("CAP_BPF", error.Message);
        Assert.StartsWith("lookup: ENOENT (", error.Message);
    }

    [Theory]
    [InlineData(Errno.EPERM, BpfErrorReason.PermissionDenied)]
    [InlineData(Errno.EACCES, BpfErrorReason.PermissionDenied)]
    [InlineData(Errno.EINVAL, BpfErrorReason.InvalidArgument)]
    [InlineData(Errno.ENOENT, BpfErrorReason.NotFound)]
    [InlineData(Errno.EEXIST, BpfErrorReason.AlreadyExists)]
    [InlineData(Errno.E2BIG, BpfErrorReason.TooBig)]
    [InlineData(Errno.ENOMEM, BpfErrorReason.OutOfMemory)]
    [InlineData(Errno.ENOSPC, BpfErrorReason.OutOfMemory)]
    [InlineData(Errno.EBUSY, BpfErrorReason.Busy)]
    [InlineData(Errno.EAGAIN, BpfErrorReason.Busy)]
    [InlineData(Errno.EOPNOTSUPP, BpfErrorReason.NotSupported)]
    [InlineData(Errno.ENOTSUPP, BpfErrorReason.NotSupported)]
    [InlineData(Errno.EBADF, BpfErrorReason.BadFileDescriptor)]
    [InlineData(Errno.ERANGE, BpfErrorReason.OutOfRange)]
    [InlineData(Errno.EAFNOSUPPORT, BpfErrorReason.WrongSocket)]
    [InlineData(Errno.EPROTOTYPE, BpfErrorReason.WrongSocket)]
    [InlineData(Errno.ESOCKTNOSUPPORT, BpfErrorReason.WrongSocket)]
    [InlineData(Errno.EFAULT, BpfErrorReason.Other)]
    public void EachErrnoHasItsReason(int errno, BpfErrorReason reason)
    {
        var error = Errno.ToException("op", errno);

        Assert.Equal(reason, error.Reason);
        Assert.Equal(errno, error.Errno);
        Assert.Contains(Errno.Name(errno), error.Message);
    }

    [Fact]
    public void UnknownErrnoIsNamedByNumber() => Assert.Equal("errno 4095", Errno.Name(4095));

    [Fact]
    public void VerifierExceptionMessageEndsWithTheLogsLastLines()
    {
        var log = "0: (b7) r0 = 0\n1: (79) r2 = *(u64 *)(r1 +8)\ninvalid bpf_context access off=8 size=8\nprocessed 2 insns\n";

        var error = new BpfVerifierException("prog", Errno.EACCES, log);

        Assert.Equal("load program 'prog': verifier rejected it (EACCES): 1: (79) r2 = *(u64 *)(r1 +8) | invalid bpf_context access off=8 size=8 | processed 2 insns", error.Message);
        Assert.Equal(log, error.Log);
        Assert.Equal(BpfErrorReason.VerifierRejected, error.Reason);
    }
}
