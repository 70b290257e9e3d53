using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>HTTP from inside a test namespace.</summary>
internal static class NetNsHttp
{
    /// <summary>An HttpClient whose connections start inside the namespace, where the steered addresses are routed.</summary>
    public static HttpClient Client(TestNetNs netns) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var address = IPAddress.Parse(context.DnsEndPoint.Host.Trim('[', ']'));
            var socket = netns.Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        // Not Traffic.Timeout: the first request in a test process also JITs the whole HTTP client and Kestrel
        // stack, which takes seconds natively and far longer under the kernel matrix's TCG.
        Timeout = TestTiming.Scale(TimeSpan.FromSeconds(30)),
    };
}
