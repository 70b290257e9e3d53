using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests.Conformance;

/// <summary>
/// A fresh network namespace set up as the kernel suite's <c>switch_netns()</c> does, plus its
/// <c>make_server</c> and <c>make_client</c>. Instead of adding fd00::1 and fd00::2 to lo, the namespace
/// routes fd00::/64 locally and lets sockets bind to addresses it does not have.
/// </summary>
public sealed class SuiteNetwork : IDisposable
{
    private const int SolSocket = 1, SoReuseAddr = 2, SoReusePort = 15, SoAttachReuseportEbpf = 52, SoCookie = 57;

    /// <summary>Creates and sets up the namespace.</summary>
    public SuiteNetwork()
    {
        NetNs = new TestNetNs();
        try
        {
            NetNs.AddLocalRoute(SuiteAddresses.Ip6Prefix);
            NetNs.AllowNonLocalBind();
        }
        catch
        {
            NetNs.Dispose();
            throw;
        }
    }

    /// <summary>The namespace.</summary>
    public TestNetNs NetNs { get; }

    /// <summary>
    /// <c>make_server</c>: a TCP listener (with SO_REUSEADDR) or a UDP socket that reports original destinations,
    /// bound to <paramref name="endPoint"/>. With <paramref name="reuseportProgram"/>, it joins a SO_REUSEPORT group
    /// and attaches that program to the group (SO_ATTACH_REUSEPORT_EBPF) after binding, as the suite does.
    /// </summary>
    public Socket MakeServer(SocketType type, IPEndPoint endPoint, BpfProgram? reuseportProgram = null)
    {
        var socket = NetNs.Socket(endPoint.AddressFamily, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp).WithTimeouts();
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = endPoint.Address.IsIPv4MappedToIPv6;
            if (type == SocketType.Dgram)
                OriginalDestination.Enable(socket);
            else
                socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            if (reuseportProgram is not null)
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            socket.Bind(endPoint);
            if (type == SocketType.Stream)
                socket.Listen(128);
            if (reuseportProgram is not null)
                socket.SetRawSocketOption(SolSocket, SoAttachReuseportEbpf, BitConverter.GetBytes(reuseportProgram.Handle.Value));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>An unconnected client socket of the family of <paramref name="destination"/>, with timeouts.</summary>
    public Socket MakeSocket(SocketType type, IPEndPoint destination) =>
        NetNs.Socket(destination.AddressFamily, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp).WithTimeouts();

    /// <summary><c>make_client</c>: a client connected to <paramref name="destination"/>, optionally bound to <paramref name="bindTo"/> first.</summary>
    public Socket MakeClient(SocketType type, IPEndPoint destination, IPEndPoint? bindTo = null)
    {
        var socket = MakeSocket(type, destination);
        try
        {
            if (bindTo is not null)
                socket.Bind(bindTo);
            Echo.Connect(socket, destination);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <c>Expect ECONNREFUSED</c>: a TCP connect to <paramref name="destination"/> is refused; for UDP, the connect
    /// succeeds, one datagram goes out, and the next receive reports the ICMP port unreachable as refused.
    /// </summary>
    public void AssertRefused(SocketType type, IPEndPoint destination)
    {
        using var client = MakeSocket(type, destination);
        if (type == SocketType.Stream)
        {
            var refused = Assert.Throws<SocketException>(() => Echo.Connect(client, destination));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
        else
        {
            Echo.Connect(client, destination);
            client.Send("a"u8);
            var refused = Assert.Throws<SocketException>(() => client.Receive(new byte[1]));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
    }

    /// <summary>Puts <paramref name="socket"/> into <paramref name="map"/> at <paramref name="slot"/>, which must be empty (BPF_NOEXIST).</summary>
    public static void AddToMap(BpfMap map, uint slot, Socket socket) =>
        map.UpdateSocket(BitConverter.GetBytes(slot), new FileDescriptor((int)socket.Handle, ownsHandle: false), MapUpdateFlags.NoExist);

    /// <summary>The socket's cookie (SO_COOKIE), the number a test run reports for a selected socket.</summary>
    public static ulong Cookie(Socket socket)
    {
        var value = new byte[8];
        socket.GetRawSocketOption(SolSocket, SoCookie, value);
        return BitConverter.ToUInt64(value);
    }

    /// <summary>True if <paramref name="socket"/> has a connection or datagram waiting, without waiting for one.</summary>
    public static bool HasPending(Socket socket) => socket.Poll(TimeSpan.Zero, SelectMode.SelectRead);

    /// <summary>Kills the namespace.</summary>
    public void Dispose() => NetNs.Dispose();
}
