using System.Net.Sockets;
using SkLookup.Bpf;

namespace SkLookup.ControlPlane;

/// <summary>
/// Decides whether a socket can receive a destination's traffic, before it goes into the sockets map.
/// The kernel would take many wrong sockets into the map and then refuse them packet by packet
/// (<c>bpf_sk_assign</c> fails: see SK_LOOKUP.md), so each rule here turns a silent drop into one clear error.
/// </summary>
internal static class SocketChecks
{
    /// <summary>
    /// The protocol and the families of the destinations <paramref name="socket"/> may serve: its own
    /// family, plus IPv4 for a dual-stack IPv6 socket when <paramref name="dualStack"/> is set.
    /// </summary>
    /// <exception cref="SteeringException"><see cref="SteeringError.WrongSocket"/> with the rule the socket breaks.</exception>
    public static (Protocol Protocol, IReadOnlyList<Family> Families) Check(SocketDescription socket, string label, bool dualStack, ulong netnsInode)
    {
        if (!socket.IsInternet)
            throw Wrong($"socket {socket} is not an IPv4 or IPv6 socket: only TCP and UDP sockets can receive sk_lookup traffic");
        Protocol protocol;
        if (socket.Type == SocketType.Stream && socket.Protocol == ProtocolType.Tcp)
            protocol = Protocol.Tcp;
        else if (socket.Type == SocketType.Dgram && socket.Protocol == ProtocolType.Udp)
            protocol = Protocol.Udp;
        else
            throw Wrong($"socket {socket} is neither TCP nor UDP: only TCP and UDP sockets can receive sk_lookup traffic");

        if (socket.NetNsInode is { } inode && inode != netnsInode)
            throw Wrong($"socket {socket} lives in network namespace {inode}, but this dispatcher steers namespace {netnsInode}: create the socket in that namespace");

        if (protocol == Protocol.Tcp && !socket.IsListening)
            throw Wrong($"TCP socket {socket} is not listening: call listen() on it before registering it for '{label}'");
        if (protocol == Protocol.Udp)
        {
            if (socket.LocalEndPoint is not { Port: not 0 })
                throw Wrong($"UDP socket {socket} is not bound: bind it (any address and port will do) before registering it for '{label}'");
            if (socket.IsConnected)
                throw Wrong($"UDP socket {socket} is connected to {socket.RemoteEndPoint}: the kernel steers only to unconnected UDP sockets, so register an unconnected one");
        }

        if (socket.Family == AddressFamily.InterNetwork)
        {
            if (dualStack)
                throw Wrong($"socket {socket} is IPv4 only: dual-stack registration needs an IPv6 socket without IPV6_V6ONLY");
            return (protocol, [Family.IPv4]);
        }
        if (!dualStack)
            return (protocol, [Family.IPv6]);
        if (socket.IsV6Only)
            throw Wrong($"socket {socket} has IPV6_V6ONLY set, so it can never receive IPv4 traffic: clear IPV6_V6ONLY and bind it to [::] (binding a specific IPv6 address sets the flag), or register an IPv4 socket for ipv4");
        return (protocol, [Family.IPv4, Family.IPv6]);
    }

    private static SteeringException Wrong(string message) => new(SteeringError.WrongSocket, message);
}
