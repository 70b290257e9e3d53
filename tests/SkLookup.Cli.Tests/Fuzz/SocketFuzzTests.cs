using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CsCheck;
using SkLookup.Bpf;
using SkLookup.TestKit;

namespace SkLookup.Cli.Tests.Fuzz;

/// <summary>
/// The fuzzer of socket arguments: sockets of every wrong kind (and right sockets under bad labels), given to
/// the library's RegisterSocket and, through a process that holds them, to <c>register-pid</c>. Each must be
/// refused, and the destinations must stay as they were.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class SocketFuzzTests : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly TestNetNs _other = new();
    private readonly Socket _registered;
    private int _nextPort = 20000;

    public SocketFuzzTests()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        _registered = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var dispatcher = Open(write: true);
        dispatcher.RegisterSocket("web", _registered);
    }

    public void Dispose()
    {
        _registered.Dispose();
        _other.Dispose();
        _sandbox.Dispose();
    }

    private Dispatcher Open(bool write) => Dispatcher.Open(_sandbox.NetNs.Namespace, _sandbox.BpfFs.Path, write);

    private string Destinations()
    {
        using var dispatcher = Open(write: false);
        return string.Join("; ", dispatcher.Destinations().Select(d => $"{d.Label} {d.Family} {d.Protocol} {d.Id} {d.SocketCookie}"));
    }

    /// <summary>The wrong kinds of socket (or descriptor) for a destination, by number.</summary>
    private const int Kinds = 12;

    private (IDisposable Owner, Func<Dispatcher, string, bool, DestinationStatus> Register, string What) Make(int kind)
    {
        var port = Interlocked.Increment(ref _nextPort);
        Socket InNs(AddressFamily family, SocketType type, ProtocolType protocol) => _sandbox.NetNs.Socket(family, type, protocol);
        Socket socket;
        switch (kind)
        {
            case 0: socket = InNs(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp); return (socket, (d, l, ds) => d.RegisterSocket(l, socket, ds), "unbound tcp");
            case 1:
                socket = InNs(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                _sandbox.NetNs.Run(() => socket.Bind(new IPEndPoint(IPAddress.Loopback, port)));
                return (socket, (d, l, ds) => d.RegisterSocket(l, socket, ds), "bound, not listening tcp");
            case 2: socket = InNs(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp); return (socket, (d, l, ds) => d.RegisterSocket(l, socket, ds), "unbound udp6");
            case 3:
                socket = _sandbox.NetNs.BindUdp(new IPEndPoint(IPAddress.Loopback, port));
                _sandbox.NetNs.Run(() => socket.Connect(new IPEndPoint(IPAddress.Loopback, 9)));
                return (socket, (d, l, ds) => d.RegisterSocket(l, socket, ds), "connected udp");
            case 4: socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified); return (socket, (d, l, ds) => d.RegisterSocket(l, socket, ds), "unix stream");
            case 5: socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified); return (socket, (d, l, ds) => d.RegisterSocket(l, socket, ds), "unix dgram");
            case 6: socket = InNs(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp); return (socket, (d, l, ds) => d.RegisterSocket(l, socket, ds), "raw icmp");
            case 7:
                var file = FileDescriptor.OpenReadOnly("/proc/self/status");
                return (file, (d, l, ds) => d.RegisterSocket(l, file, ds), "a file");
            case 8:
                var directory = FileDescriptor.OpenReadOnly("/", directory: true);
                return (directory, (d, l, ds) => d.RegisterSocket(l, directory, ds), "a directory");
            case 9:
                socket = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.IPv6Any, port), dualStack: false);
                return (socket, (d, l, _) => d.RegisterSocket(l, socket, dualStack: true), "v6only tcp as dual-stack");
            case 10:
                socket = _other.Listen(new IPEndPoint(IPAddress.Loopback, port));
                return (socket, (d, l, ds) => d.RegisterSocket(l, socket, ds), "listening tcp of another namespace");
            default:
                var closed = new FileDescriptor(1_000_000 + port, ownsHandle: false);
                return (closed, (d, l, ds) => d.RegisterSocket(l, closed, ds), "a descriptor that is not open");
        }
    }

    [Fact]
    public void WrongSocketsAndBadLabelsAreRefusedAndChangeNothing()
    {
        var before = Destinations();
        var gen = Gen.OneOf(
            Gen.Select(Gen.Int[0, Kinds - 1], Inputs.GoodLabel, Gen.Bool, (kind, label, dual) => (kind, label, dual)),
            Gen.Select(Inputs.BadLabel, Gen.Bool, (label, dual) => (-1, label, dual)));
        var trials = FuzzBudget.Trials(200);
        var failures = 0;
        try
        {
            gen.Sample((kind, label, dualStack) =>
            {
                var c = (Kind: kind, Label: label, DualStack: dualStack);
                var (owner, register, what) = c.Kind < 0
                    ? (_sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, Interlocked.Increment(ref _nextPort))), null!, "a good socket")
                    : Make(c.Kind);
                using (owner)
                {
                    register ??= (d, l, ds) => d.RegisterSocket(l, (Socket)owner, ds);
                    using var dispatcher = Open(write: true);
                    var error = Assert.Throws<SteeringException>(() => register(dispatcher, c.Label, c.DualStack));
                    Assert.True(error.Error is SteeringError.WrongSocket or SteeringError.InvalidLabel, $"{what}: {error.Error}: {error.Message}");
                    LibraryFuzzTests.AssertOneCleanLine(error.Message);
                }
                Assert.Equal(before, Destinations());
            }, iter: trials, threads: 1, print: c => $"kind {c.Item1}, label {TextEscape.Escape(c.Item2)}, dual-stack {c.Item3}");
        }
        catch
        {
            failures++;
            throw;
        }
        finally
        {
            FuzzBudget.Record("socket-arguments", "wrong sockets and bad labels given to RegisterSocket: refused, destinations unchanged", trials, failures,
                $"{Kinds} wrong kinds (unbound and non-listening TCP, unbound and connected UDP, unix stream and datagram, raw ICMP, a file, a directory, a v6-only socket as dual-stack, a socket of another namespace, a closed descriptor) under good labels, and good sockets under bad labels");
        }
    }

    [Fact]
    public void RegisterPidOfWrongSocketsIsRefusedAndChangesNothing()
    {
        var before = Destinations();
        var trials = FuzzBudget.Trials(60);
        var failures = 0;
        try
        {
            // Sockets this test process holds, of a wrong kind for what is asked: register-pid must find none.
            Gen.Select(Gen.Int[0, 3], Inputs.GoodLabel, (kind, label) => (kind, label)).Sample((kind, label) =>
            {
                var c = (Kind: kind, Label: label);
                var port = Interlocked.Increment(ref _nextPort);
                using var socket = c.Kind switch
                {
                    0 => BoundTcp(port),                                                        // not listening
                    1 => Connected(_sandbox.NetNs.BindUdp(new IPEndPoint(IPAddress.Loopback, port))),  // connected
                    2 => _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, port)),       // asked as udp below
                    _ => _sandbox.NetNs.BindUdp(new IPEndPoint(IPAddress.Loopback, port)),      // asked as tcp below
                };
                var protocol = c.Kind switch { 0 => "tcp", 1 => "udp", 2 => "udp", _ => "tcp" };
                var result = _sandbox.Run("register-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), c.Label, protocol, "127.0.0.1", port.ToString(CultureInfo.InvariantCulture));
                result.AssertOneLineError(7);
                Assert.Equal(before, Destinations());
            }, iter: trials, threads: 1);
        }
        catch
        {
            failures++;
            throw;
        }
        finally
        {
            FuzzBudget.Record("socket-arguments", "register-pid of a process whose socket at IP:PORT is of the wrong kind: not found, destinations unchanged", trials, failures,
                "the test process holds a non-listening TCP, a connected UDP, or a socket of the other protocol at 127.0.0.1:PORT; register-pid of it runs in-process");
        }
    }

    private Socket BoundTcp(int port)
    {
        var socket = _sandbox.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sandbox.NetNs.Run(() => socket.Bind(new IPEndPoint(IPAddress.Loopback, port)));
        return socket;
    }

    private Socket Connected(Socket socket)
    {
        _sandbox.NetNs.Run(() => socket.Connect(new IPEndPoint(IPAddress.Loopback, 9)));
        return socket;
    }
}
