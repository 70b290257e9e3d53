using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SkLookup.Bpf;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>The hosted service in a Generic Host, against a dispatcher in a private namespace, with real traffic.</summary>
public sealed class GenericHostTests
{
    [Fact]
    public async Task RegistersTcpAndUdpSocketsAndSteeredTrafficReachesThem()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        scenario.Bind("dns", "udp", "192.0.2.0/24", "53");
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var dns = new DnsServer(scenario.NetNs.BindUdp(new IPEndPoint(IPAddress.Loopback, 5353)));
        using var host = scenario.BuildHost(
            options => options.Register("web", web).Register("dns", services => services.GetRequiredService<DnsServer>().Socket),
            services => services.AddSingleton(dns));

        await host.StartAsync();

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.7:80"), web));
        Assert.Equal(0, Traffic.SendAndFindReceiver(scenario.NetNs, IPEndPoint.Parse("192.0.2.200:53"), dns.Socket));
        Assert.Equal(new Dictionary<string, ulong?> { ["dns ipv4 udp"] = SocketCookie.Read(dns.Socket), ["web ipv4 tcp"] = SocketCookie.Read(web) }, Cookies(scenario));
        var registered = scenario.Logs.SkLookup(LogLevel.Information);
        Assert.Contains(registered, line => line.Contains("registered TCP socket 127.0.0.1:8080 for 'web' (ipv4 tcp", StringComparison.Ordinal));
        Assert.Contains(registered, line => line.Contains("registered UDP socket 127.0.0.1:5353 for 'dns' (ipv4 udp", StringComparison.Ordinal));
        Assert.Empty(scenario.Logs.SkLookup(LogLevel.Warning));

        // By default the sockets stay registered after stop: they leave the map when they close.
        await host.StopAsync();
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.8:80"), web));
        Assert.All(Cookies(scenario).Values, cookie => Assert.NotNull(cookie));
    }

    [Fact]
    public async Task UnregistersOnStopWhenAskedButLeavesAnotherInstancesSocket()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        scenario.Bind("dns", "udp", "192.0.2.0/24", "53");
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var dns = scenario.NetNs.BindUdp(new IPEndPoint(IPAddress.Loopback, 5353));
        using var host = scenario.BuildHost(options =>
        {
            options.UnregisterOnStop = true;
            options.Register("web", web).Register("dns", dns);
        });
        await host.StartAsync();

        // A newer instance takes over 'web' before this one stops, as in an overlapping restart.
        using var newerWeb = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8081));
        using (var dispatcher = scenario.Open(write: true))
            dispatcher.RegisterSocket("web", newerWeb);
        await host.StopAsync();

        var cookies = Cookies(scenario);
        Assert.Equal(SocketCookie.Read(newerWeb), cookies["web ipv4 tcp"]);
        Assert.Null(cookies["dns ipv4 udp"]);
        Assert.Equal(-1, Traffic.SendAndFindReceiver(scenario.NetNs, IPEndPoint.Parse("192.0.2.200:53"), dns)); // Dropped: no socket.
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.7:80"), newerWeb, web));
        Assert.Contains(scenario.Logs.SkLookup(LogLevel.Information), line => line.Contains("unregistered the socket of 'dns' (ipv4 udp)", StringComparison.Ordinal));
        Assert.Contains(scenario.Logs.SkLookup(LogLevel.Information), line => line.Contains("kept the socket of 'web' (ipv4 tcp) registered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WarnsAboutALabelWithoutBindings()
    {
        using var scenario = new HostScenario();
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var host = scenario.BuildHost(options => options.Register("web", web));

        await host.StartAsync();
        await host.StopAsync();

        var warning = Assert.Single(scenario.Logs.SkLookup(LogLevel.Warning));
        Assert.Contains("label 'web' has no bindings", warning, StringComparison.Ordinal);
        Assert.Equal(SocketCookie.Read(web), Cookies(scenario)["web ipv4 tcp"]);
    }

    [Fact]
    public async Task WithNothingToRegisterWarnsAndLeavesTheDispatcherAlone()
    {
        using var scenario = new HostScenario(load: false);
        using var host = scenario.BuildHost(_ => { });

        await host.StartAsync(); // Not loaded, and that is fine: nothing needs it.
        await host.StopAsync();

        Assert.Contains("no sockets to register", Assert.Single(scenario.Logs.SkLookup(LogLevel.Warning)), StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsAnInvalidLabelWhenConfigured()
    {
        using var web = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var failure = Assert.Throws<SteeringException>(() => new SkLookupOptions().Register("two words", web));
        Assert.Equal(SteeringError.InvalidLabel, failure.Error);
    }

    private static Dictionary<string, ulong?> Cookies(HostScenario scenario)
    {
        using var dispatcher = scenario.Open();
        return dispatcher.Destinations().ToDictionary(d => $"{d.Label} {d.Family.Name()} {d.Protocol.Name()}", d => d.SocketCookie);
    }

    /// <summary>A service of the app that owns a socket, to register through the container.</summary>
    private sealed class DnsServer(Socket socket) : IDisposable
    {
        public Socket Socket { get; } = socket;

        public void Dispose() => Socket.Dispose();
    }
}
