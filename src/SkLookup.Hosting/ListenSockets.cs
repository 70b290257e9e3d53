using System.Net.Sockets;

namespace SkLookup.Hosting;

/// <summary>
/// The listening sockets that <see cref="KestrelServerOptionsExtensions"/> created for Kestrel: the hosted
/// service registers them, and this container-owned singleton closes them when the host is disposed,
/// which is after Kestrel stopped using them (Kestrel does not own a handle it is given).
/// </summary>
internal sealed class ListenSockets : IDisposable
{
    private readonly List<SocketRegistration> _registrations = [];
    private readonly List<Socket> _owned = [];
    private readonly Lock _lock = new();

    /// <summary>Takes ownership of <paramref name="socket"/> and registers it under <paramref name="label"/> at start.</summary>
    public void Add(string label, Socket socket, bool dualStack)
    {
        lock (_lock)
        {
            _owned.Add(socket);
            _registrations.Add(new SocketRegistration(label, _ => socket, dualStack));
        }
    }

    /// <summary>The registrations so far.</summary>
    public IReadOnlyList<SocketRegistration> Registrations()
    {
        lock (_lock)
            return [.. _registrations];
    }

    /// <summary>Closes the sockets.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var socket in _owned)
                socket.Dispose();
            _owned.Clear();
        }
    }
}
