using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SkLookup.Hosting;

/// <summary>Kestrel listeners that receive steered traffic.</summary>
public static class KestrelServerOptionsExtensions
{
    /// <summary>
    /// Creates a listening TCP socket bound to <paramref name="bindEndPoint"/> (any free address will do,
    /// e.g. 127.0.0.1:8080: the bindings decide which traffic reaches it), has Kestrel serve it, and has the
    /// sk_lookup hosted service register it under <paramref name="label"/> at start. The socket is created
    /// in <see cref="SkLookupOptions.Namespace"/> when one is set, so call
    /// <see cref="SkLookupServiceCollectionExtensions.AddSkLookup(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{SkLookupOptions})"/> first. The app owns the socket and
    /// closes it when the host is disposed.
    /// </summary>
    /// <param name="options">Kestrel's options.</param>
    /// <param name="label">The label whose bindings send traffic here.</param>
    /// <param name="bindEndPoint">The local address to bind.</param>
    /// <param name="configure">Configures the listener, e.g. its protocols or HTTPS.</param>
    /// <param name="reusePort">Sets SO_REUSEPORT before binding, so that several processes can share the address.</param>
    /// <param name="dualStack">For an IPv6 end point: clears IPV6_V6ONLY and serves the label's IPv4 traffic too.</param>
    public static KestrelServerOptions ListenSkLookup(this KestrelServerOptions options, string label, IPEndPoint bindEndPoint,
        Action<ListenOptions>? configure = null, bool reusePort = false, bool dualStack = false)
    {
        ArgumentNullException.ThrowIfNull(bindEndPoint);
        if (dualStack && bindEndPoint.AddressFamily != AddressFamily.InterNetworkV6)
            throw new ArgumentException($"dual-stack needs an IPv6 end point, not {bindEndPoint}", nameof(dualStack));
        return options.ListenSkLookup(label, () => ListenSocket.Create(bindEndPoint, reusePort, dualStack), configure, dualStack, bindEndPoint);
    }

    /// <summary>
    /// Has Kestrel serve the listening TCP socket that <paramref name="socketFactory"/> creates, and has the
    /// sk_lookup hosted service register it under <paramref name="label"/> at start. The factory runs once,
    /// inside <see cref="SkLookupOptions.Namespace"/> when one is set; the app owns what it returns and
    /// closes it when the host is disposed.
    /// </summary>
    /// <param name="options">Kestrel's options.</param>
    /// <param name="label">The label whose bindings send traffic here.</param>
    /// <param name="socketFactory">Creates a bound, listening TCP socket.</param>
    /// <param name="configure">Configures the listener, e.g. its protocols or HTTPS.</param>
    /// <param name="dualStack">The socket is IPv6 without IPV6_V6ONLY and serves the label's IPv4 traffic too.</param>
    public static KestrelServerOptions ListenSkLookup(this KestrelServerOptions options, string label, Func<Socket> socketFactory,
        Action<ListenOptions>? configure = null, bool dualStack = false) =>
        options.ListenSkLookup(label, socketFactory, configure, dualStack, bindEndPoint: null);

    private static KestrelServerOptions ListenSkLookup(this KestrelServerOptions options, string label, Func<Socket> socketFactory,
        Action<ListenOptions>? configure, bool dualStack, IPEndPoint? bindEndPoint)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(socketFactory);
        Label.Validate(label);
        var services = options.ApplicationServices;
        var listenSockets = services?.GetService<ListenSockets>()
            ?? throw new InvalidOperationException($"ListenSkLookup(\"{label}\") needs the sk_lookup hosted service: call services.AddSkLookup() when configuring the app's services");
        var netns = services.GetRequiredService<IOptions<SkLookupOptions>>().Value.Namespace;
        // A socket belongs to the namespace of the thread that creates it, and the kernel steers only to sockets of the dispatcher's namespace.
        Socket socket;
        try
        {
            socket = netns is null ? socketFactory() : netns.Run(socketFactory);
        }
        catch (SocketException exception)
        {
            // Kestrel is being configured, so a throw here would crash the app's Build() or Run() with a stack
            // trace. The hosted service reports it as one line at start and stops the host; until then Kestrel
            // gets a stand-in on a free loopback port, lest it fall back to its default address.
            listenSockets.Fail(StartFailure.Bind($"'{label}' (ListenSkLookup)", bindEndPoint, exception));
            var loopback = new IPEndPoint(bindEndPoint?.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0);
            Socket CreateStandIn() => ListenSocket.Create(loopback, reusePort: false, dualStack: false);
            var standIn = netns is null ? CreateStandIn() : netns.Run(CreateStandIn);
            listenSockets.Own(standIn);
            options.ListenHandle((ulong)standIn.Handle, configure ?? (_ => { }));
            return options;
        }
        if (socket is null)
            throw new InvalidOperationException($"ListenSkLookup(\"{label}\"): the socket factory returned null: return a bound, listening TCP socket");
        listenSockets.Add(label, socket, dualStack);
        // Kestrel wraps the descriptor without owning it, and calls listen() on it again, which only updates the backlog.
        options.ListenHandle((ulong)socket.Handle, configure ?? (_ => { }));
        return options;
    }
}
