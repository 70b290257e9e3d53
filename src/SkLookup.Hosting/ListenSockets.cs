using System.Net.Sockets;

namespace SkLookup.Hosting;

/// <summary>
/// The sockets that <see cref="KestrelServerOptionsExtensions"/> created for Kestrel, and those of
/// <see cref="SkLookupServiceCollectionExtensions.AddSteeredUdpSocket"/>: the hosted
/// service registers them, and this container-owned singleton closes them when the host is disposed,
/// which is after Kestrel stopped using them (Kestrel does not own a handle it is given).
/// </summary>
internal sealed class ListenSockets : IDisposable
{
    private readonly List<SocketRegistration> _registrations = [];
    private readonly List<IDisposable> _owned = [];
    private readonly Lock _lock = new();
    private StartFailure? _failure;

    /// <summary>The first listener that could not be created, which the hosted service reports at start.</summary>
    public StartFailure? Failure
    {
        get
        {
            lock (_lock)
                return _failure;
        }
    }

    /// <summary>Keeps the first failure to create a listener, for the hosted service to report as one line.</summary>
    public void Fail(StartFailure failure)
    {
        lock (_lock)
            _failure ??= failure;
    }

    /// <summary>Takes ownership of <paramref name="socket"/> and registers it under <paramref name="label"/> at start.</summary>
    public void Add(string label, Socket socket, bool dualStack)
    {
        lock (_lock)
        {
            _owned.Add(socket);
            _registrations.Add(new SocketRegistration(label, _ => socket, dualStack));
        }
    }

    /// <summary>Takes ownership of a socket (or a steered UDP socket) that is registered some other way, or not at all.</summary>
    public void Own(IDisposable socket)
    {
        lock (_lock)
            _owned.Add(socket);
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
