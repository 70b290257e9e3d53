using System.Globalization;

namespace SkLookup.Bpf;

/// <summary>A process that holds a socket, as <see cref="SocketFromProcess.FindOwners"/> finds it.</summary>
/// <param name="ProcessId">Its pid.</param>
/// <param name="Command">Its name (<c>/proc/PID/comm</c>), or "?" if it could not be read.</param>
/// <param name="Fd">The descriptor it holds the socket under.</param>
public sealed record SocketOwner(int ProcessId, string Command, int Fd)
{
    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Command}[{ProcessId}] fd {Fd}");
}
