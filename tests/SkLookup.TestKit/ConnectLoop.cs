using System.Net;
using System.Net.Sockets;

namespace SkLookup.TestKit;

/// <summary>
/// Connects to a destination over and over from a thread of its own, until stopped or bounded out, and
/// counts where each connection went: to which <see cref="TaggedServer"/> (by the byte it answered with),
/// refused (ECONNREFUSED: sk_lookup dropped it or nothing listened), or failed otherwise (reset, timeout).
/// </summary>
public sealed class ConnectLoop : IDisposable
{
    private readonly TestNetNs _netns;
    private readonly Func<int, IPEndPoint> _destination;
    private readonly int _maxAttempts;
    private readonly TimeSpan _maxDuration;
    private readonly Thread _thread;
    private readonly Dictionary<byte, int> _byTag = [];
    private readonly List<string> _failures = [];
    private volatile bool _stop;
    private int _attempts;
    private int _refused;

    /// <summary>Starts connecting to <paramref name="destination"/>(attempt number), at most <paramref name="maxAttempts"/> times and for at most <paramref name="maxDuration"/>.</summary>
    public ConnectLoop(TestNetNs netns, Func<int, IPEndPoint> destination, int maxAttempts = 200_000, TimeSpan? maxDuration = null)
    {
        _netns = netns;
        _destination = destination;
        _maxAttempts = maxAttempts;
        _maxDuration = maxDuration ?? TestTiming.Scale(TimeSpan.FromSeconds(90));
        _thread = new Thread(Run) { IsBackground = true, Name = "connect loop" };
        _thread.Start();
    }

    /// <summary>Connections attempted so far.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Connections refused so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>True once the loop has stopped by itself (its bounds), or was stopped.</summary>
    public bool Finished => !_thread.IsAlive;

    /// <summary>Connections that the server tagged <paramref name="tag"/> answered.</summary>
    public int AnsweredBy(byte tag)
    {
        lock (_byTag)
            return _byTag.GetValueOrDefault(tag);
    }

    /// <summary>Failures other than refusals, each described.</summary>
    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_failures)
                return [.. _failures];
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, or fails after <paramref name="timeout"/> or when the loop ended.</summary>
    public void WaitFor(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TestTiming.Scale(TimeSpan.FromSeconds(30)));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline || Finished)
                throw new TimeoutException($"waited in vain for {what} ({Attempts} connections, {Refused} refused)");
            Thread.Sleep(2);
        }
    }

    /// <summary>Stops the loop and waits for its last connection.</summary>
    public void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    /// <inheritdoc />
    public void Dispose() => Stop();

    // The whole loop runs on one thread inside the namespace, so creating a client socket is one syscall.
    private void Run() => _netns.Run(Loop);

    private void Loop()
    {
        var deadline = DateTime.UtcNow + _maxDuration;
        var answer = new byte[1];
        for (var i = 0; !_stop && i < _maxAttempts && DateTime.UtcNow < deadline; i++)
        {
            var destination = _destination(i);
            try
            {
                using var client = new Socket(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp).WithTimeouts();
                Echo.Connect(client, destination);
                var read = client.Receive(answer);
                if (read != 1)
                    throw new IOException("the server closed without answering");
                lock (_byTag)
                    _byTag[answer[0]] = _byTag.GetValueOrDefault(answer[0]) + 1;
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionRefused)
            {
                Interlocked.Increment(ref _refused);
            }
            catch (Exception exception) when (exception is SocketException or IOException or TimeoutException or OperationCanceledException)
            {
                lock (_failures)
                    _failures.Add($"{destination}: {exception.Message}");
            }
            Interlocked.Increment(ref _attempts);
        }
    }
}
