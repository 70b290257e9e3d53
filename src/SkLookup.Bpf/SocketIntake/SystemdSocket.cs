using System.Net.Sockets;

namespace SkLookup.Bpf;

/// <summary>A descriptor that systemd passed to this process by socket activation (<see cref="SystemdSockets.Listen(bool)"/>).</summary>
/// <param name="Name">Its name from <c>FileDescriptorName=</c> in the socket unit (LISTEN_FDNAMES), or "unknown".</param>
/// <param name="Fd">The descriptor number: 3 for the first.</param>
/// <param name="Handle">The owned descriptor (close-on-exec).</param>
/// <param name="Description">What the socket is, or null if systemd passed something else (a FIFO, a special file).</param>
public sealed record SystemdSocket(string Name, int Fd, FileDescriptor Handle, SocketDescription? Description) : IDisposable
{
    /// <summary>Hands the descriptor to a new .NET <see cref="Socket"/>, which then owns it.</summary>
    public Socket ToSocket() => SocketHandles.ToSocket(Handle);

    /// <summary>Closes the descriptor (unless <see cref="ToSocket"/> took it over).</summary>
    public void Dispose() => Handle.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"{Name} (fd {Fd}): {(Description?.ToString() ?? "not a socket")}";
}
