using System.Net.Sockets;

namespace SkLookup.Hosting;

/// <summary>One socket to register at start: its label, where it comes from, and whether it serves IPv4 through IPv6.</summary>
internal sealed record SocketRegistration(string Label, Func<IServiceProvider, Socket> Socket, bool DualStack);
