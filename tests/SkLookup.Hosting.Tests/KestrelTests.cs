using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SkLookup.Bpf;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>A minimal web app whose Kestrel listener ListenSkLookup created inside a private namespace, reached through real steered HTTP.</summary>
public sealed class KestrelTests
{
    [Fact]
    public async Task ServesRequestsSteeredToItsListener()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        await using var app = BuildApp(scenario, kestrel => kestrel.ListenSkLookup("web", new IPEndPoint(IPAddress.Loopback, 8080)));
        await app.StartAsync();
        using var client = ClientIn(scenario.NetNs);

        var body = await client.GetStringAsync(new Uri("http://192.0.2.7/"));

        // The listener is bound to 127.0.0.1:8080; the kernel still knows the address the client dialled.
        Assert.Equal("steered to 192.0.2.7:80", body);
        Assert.Contains(scenario.Logs.SkLookup(LogLevel.Information), line => line.Contains("registered TCP socket 127.0.0.1:8080 for 'web' (ipv4 tcp", StringComparison.Ordinal));
        using (var dispatcher = scenario.Open())
        {
            var web = Assert.Single(dispatcher.Destinations());
            Assert.Equal(("web", Family.IPv4, Protocol.Tcp), (web.Label, web.Family, web.Protocol));
            Assert.NotNull(web.SocketCookie);
            Assert.Equal(1ul, web.Counters.Lookups);
        }
        await app.StopAsync();
    }

    [Fact]
    public async Task SteeredAddressIsNullOnceTheClientHasGoneAndNeverThrows()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        var seen = new TaskCompletionSource<(IPEndPoint? WhileOpen, IPEndPoint? AfterClose, bool SocketClosed)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        scenario.UseLogs(builder.Logging);
        builder.Services.AddSkLookup(scenario.Target);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenSkLookup("web", new IPEndPoint(IPAddress.Loopback, 8080)));
        await using var app = builder.Build();
        app.MapGet("/slow", async (HttpContext context) =>
        {
            var whileOpen = SteeredAddress.Of(context);
            asked.TrySetResult();
            var socket = context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()!.Socket;
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
            // Kestrel closes the connection's socket soon after the client has gone.
            for (var i = 0; i < 100 && !socket.SafeHandle.IsClosed; i++)
                await Task.Delay(50);
            seen.TrySetResult((whileOpen, SteeredAddress.Of(context), socket.SafeHandle.IsClosed));
        });
        await app.StartAsync();

        using (var client = scenario.NetNs.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            client.Connect(IPEndPoint.Parse("192.0.2.7:80"));
            client.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"u8);
            await asked.Task.WaitAsync(TestTiming.Scale(TimeSpan.FromSeconds(30)));
            client.LingerState = new LingerOption(true, 0); // A reset: the client is gone at once.
        }
        var (whileOpen, afterClose, socketClosed) = await seen.Task.WaitAsync(TestTiming.Scale(TimeSpan.FromSeconds(30)));

        Assert.Equal(IPEndPoint.Parse("192.0.2.7:80"), whileOpen);
        Assert.True(socketClosed, "Kestrel kept the socket open, so the test proved nothing");
        Assert.Null(afterClose);
        await app.StopAsync();
    }

    [Fact]
    public async Task DualStackListenerServesBothFamilies()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        scenario.Bind("web", "tcp", "2001:db8::/64", "80");
        await using var app = BuildApp(scenario, kestrel => kestrel.ListenSkLookup("web", new IPEndPoint(IPAddress.IPv6Any, 8080), dualStack: true));
        await app.StartAsync();
        using var client = ClientIn(scenario.NetNs);

        Assert.Equal("steered to 192.0.2.9:80", await client.GetStringAsync(new Uri("http://192.0.2.9/")));
        Assert.Equal("steered to [2001:db8::9]:80", await client.GetStringAsync(new Uri("http://[2001:db8::9]/")));
        using (var dispatcher = scenario.Open())
            Assert.Equal([Family.IPv4, Family.IPv6], dispatcher.Destinations().Where(d => d.SocketCookie is not null).Select(d => d.Family));
        await app.StopAsync();
    }

    [Fact]
    public async Task GenericHostWithAWebHostAddedAfterTheServiceRegistersKestrelsListener()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        // The sk_lookup service is added, and so starts, before the web host's service, which creates Kestrel.
        using var host = new HostBuilder()
            .ConfigureLogging(scenario.UseLogs)
            .ConfigureServices(services => services.AddSkLookup(scenario.Target))
            .ConfigureWebHost(web => web
                .UseKestrel(kestrel => kestrel.ListenSkLookup("web", new IPEndPoint(IPAddress.Loopback, 8080)))
                .Configure(app => app.Run(context => context.Response.WriteAsync($"steered to {SteeredAddress.Of(context)}"))))
            .Build();
        await host.StartAsync();
        using var client = ClientIn(scenario.NetNs);

        Assert.Equal("steered to 192.0.2.7:80", await client.GetStringAsync(new Uri("http://192.0.2.7/")));
        await host.StopAsync();
    }

    [Fact]
    public async Task ListenerFromAFactoryIsServedAndClosedWithTheApp()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        Socket? created = null;
        var app = BuildApp(scenario, kestrel => kestrel.ListenSkLookup("web", () =>
        {
            // The factory runs inside the options' namespace: this socket lives in the test namespace.
            created = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            created.Bind(new IPEndPoint(IPAddress.Loopback, 9090));
            created.Listen();
            return created;
        }));
        await app.StartAsync();
        using (var client = ClientIn(scenario.NetNs))
            Assert.Equal("steered to 192.0.2.7:80", await client.GetStringAsync(new Uri("http://192.0.2.7/")));

        await app.StopAsync();
        await app.DisposeAsync();

        Assert.NotNull(created);
        Assert.True(created.SafeHandle.IsClosed);
        using var dispatcher = scenario.Open();
        Assert.Null(Assert.Single(dispatcher.Destinations()).SocketCookie); // A closed socket leaves the sockets map.
    }

    [Fact]
    public void ListenSkLookupWithoutAddSkLookupSaysWhatToCall()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenSkLookup("web", new IPEndPoint(IPAddress.Loopback, 0)));

        // Building the app creates Kestrel, which applies its options.
        var failure = Assert.Throws<InvalidOperationException>(() => builder.Build());

        Assert.Contains("call services.AddSkLookup()", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>A web app with the sk_lookup service for <paramref name="scenario"/> whose one endpoint says where the request was steered.</summary>
    private static WebApplication BuildApp(HostScenario scenario, Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions> listen)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        scenario.UseLogs(builder.Logging);
        builder.Services.AddSkLookup(scenario.Target);
        builder.WebHost.ConfigureKestrel(listen);
        var app = builder.Build();
        app.MapGet("/", (HttpContext context) => $"steered to {SteeredAddress.Of(context)}");
        return app;
    }

    private static HttpClient ClientIn(TestNetNs netns) => NetNsHttp.Client(netns);
}
