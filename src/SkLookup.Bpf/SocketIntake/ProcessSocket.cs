namespace SkLookup.Bpf;

/// <summary>
/// A socket taken from another process by <see cref="SocketFromProcess.Find"/>: a duplicate of that
/// process's descriptor <see cref="Fd"/>, owned by this process.
/// </summary>
/// <param name="ProcessId">The process the socket was taken from.</param>
/// <param name="Fd">The descriptor number in that process.</param>
/// <param name="Handle">This process's duplicate; disposing it leaves the other process's descriptor open.</param>
/// <param name="Description">What the socket is.</param>
public sealed record ProcessSocket(int ProcessId, int Fd, FileDescriptor Handle, SocketDescription Description) : IDisposable
{
    /// <summary>Closes this process's duplicate.</summary>
    public void Dispose() => Handle.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"pid {ProcessId} fd {Fd}: {Description}";
}
