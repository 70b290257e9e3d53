using System.Net;
using System.Net.Sockets;

namespace SkLookup.TestKit;

/// <summary>
/// A TCP server for zero-downtime tests: it accepts on its own thread and answers every connection with
/// its one-byte tag, so a client knows which server took it. <see cref="Stop"/> is a graceful stop, as a
/// real server's: it stops accepting, serves what is queued already, then closes the listener.
/// </summary>
public sealed class TaggedServer : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stopping;

    /// <summary>Listens on <paramref name="endPoint"/> in <paramref name="netns"/> and starts accepting.</summary>
    public TaggedServer(TestNetNs netns, IPEndPoint endPoint, byte tag)
    {
        ArgumentNullException.ThrowIfNull(netns);
        Tag = tag;
        Listener = netns.Listen(endPoint);
        _thread = new Thread(Serve) { IsBackground = true, Name = $"tagged server {(char)tag}" };
        _thread.Start();
    }

    /// <summary>The byte it answers with.</summary>
    public byte Tag { get; }

    /// <summary>The listening socket (to register it).</summary>
    public Socket Listener { get; }

    /// <summary>Connections served.</summary>
    public int Served => Volatile.Read(ref _served);

    private int _served;

    /// <summary>Stops accepting, serves the connections queued in the backlog, and closes the listener.</summary>
    public void Stop()
    {
        if (_stopping)
            return;
        _stopping = true;
        _thread.Join();
        while (Listener.Poll(TimeSpan.Zero, SelectMode.SelectRead))
            ServeOne();
        Listener.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Stop();
        Listener.Dispose();
    }

    private void Serve()
    {
        try
        {
            while (!_stopping)
                if (Listener.Poll(TimeSpan.FromMilliseconds(5), SelectMode.SelectRead))
                    ServeOne();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void ServeOne()
    {
        using var connection = Listener.Accept();
        connection.Send([Tag]);
        Interlocked.Increment(ref _served);
    }
}
