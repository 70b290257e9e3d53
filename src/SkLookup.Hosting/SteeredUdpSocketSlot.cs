using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SkLookup.Hosting;

/// <summary>
/// One socket of <see cref="SkLookupServiceCollectionExtensions.AddSteeredUdpSocket"/>: created once, in
/// <see cref="SkLookupOptions.Namespace"/> when one is set, by whichever asks first (the registration at
/// start, or the app resolving it), and closed with the container's <see cref="ListenSockets"/>.
/// </summary>
internal sealed class SteeredUdpSocketSlot(string label, IPEndPoint bindEndPoint, bool dualStack, bool reusePort)
{
    private readonly Lock _lock = new();
    private SteeredUdpSocket? _socket;

    public SteeredUdpSocket Get(IServiceProvider services)
    {
        lock (_lock)
        {
            if (_socket is not null)
                return _socket;
            var netns = services.GetRequiredService<IOptions<SkLookupOptions>>().Value.Namespace;
            SteeredUdpSocket Bind() => SteeredUdpSocket.Bind(bindEndPoint, dualStack, reusePort);
            try
            {
                _socket = netns is null ? Bind() : netns.Run(Bind);
            }
            catch (SocketException exception)
            {
                throw StartFailure.Bind($"'{label}' (AddSteeredUdpSocket)", bindEndPoint, exception);
            }
            services.GetRequiredService<ListenSockets>().Own(_socket);
            return _socket;
        }
    }
}
