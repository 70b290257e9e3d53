using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SkLookup.Bpf;
using SkLookup.Bpf.Interop;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>
/// systemd socket activation. Descriptors 3 and up belong to the test host, so the test passes real
/// sockets at free consecutive descriptors through the internal overload of <see cref="SystemdSockets"/>
/// that takes the environment and the first descriptor.
/// </summary>
public sealed class SystemdTests
{
    [Fact]
    public async Task RegistersActivatedSocketsByNameAndLeavesThemOpen()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        scenario.Bind("dns", "udp", "192.0.2.0/24", "53");
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var dns = scenario.NetNs.BindUdp(new IPEndPoint(IPAddress.Loopback, 5353));
        using var metrics = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 9100));
        using var passed = new PassedDescriptors(web, dns, metrics);
        using var host = scenario.BuildHost(options =>
        {
            options.RegisterSystemdSockets(name => name == "metrics" ? null : name);
            options.SystemdSocketSource = () => passed.Listen("web:dns:metrics");
        });

        await host.StartAsync();
        await host.StopAsync();

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.7:80"), web));
        Assert.Equal(0, Traffic.SendAndFindReceiver(scenario.NetNs, IPEndPoint.Parse("192.0.2.7:53"), dns));
        using (var dispatcher = scenario.Open())
        {
            var cookies = dispatcher.Destinations().ToDictionary(d => $"{d.Label} {d.Family.Name()} {d.Protocol.Name()}", d => d.SocketCookie);
            Assert.Equal(new Dictionary<string, ulong?> { ["dns ipv4 udp"] = SocketCookie.Read(dns), ["web ipv4 tcp"] = SocketCookie.Read(web) }, cookies);
        }
        Assert.Contains(scenario.Logs.SkLookup(LogLevel.Information), line => line.Contains($"registered TCP socket 127.0.0.1:8080 from systemd (web, fd {passed.First}) for 'web'", StringComparison.Ordinal));
        Assert.Contains(scenario.Logs.SkLookup(LogLevel.Debug), line => line.Contains($"left systemd socket metrics (fd {passed.First + 2})", StringComparison.Ordinal));
        // The descriptors are the process's: Kestrel's UseSystemd() serves them by number, so nothing here closed them.
        Assert.All(passed.Descriptors, fd => Assert.True(LibC.Fcntl(fd, LibC.F_GETFD, 0) >= 0, $"fd {fd} was closed"));
    }

    [Fact]
    public async Task ActivatedDualStackSocketServesIPv4UnlessAnIPv4SocketIsPassedForTheLabel()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        scenario.Bind("web", "tcp", "2001:db8::/64", "80");
        scenario.Bind("api", "tcp", "192.0.2.0/24", "443");
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.IPv6Any, 8080), dualStack: true);
        using var api6 = scenario.NetNs.Listen(new IPEndPoint(IPAddress.IPv6Any, 8443), dualStack: true);
        using var api4 = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Any, 8444));
        // The IPv4 socket comes first, as a unit may list it; it still wins the label's IPv4 traffic.
        using var passed = new PassedDescriptors(web, api4, api6);
        using var host = scenario.BuildHost(options =>
        {
            options.RegisterSystemdSockets(name => name.Split('-')[0]);
            options.SystemdSocketSource = () => passed.Listen("web:api-4:api-6");
        });

        await host.StartAsync();

        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.7:80"), web));
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("[2001:db8::7]:80"), web));
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.7:443"), api4, api6));
        await host.StopAsync();
    }

    [Fact]
    public async Task NotActivatedRegistersNothingAndSaysSo()
    {
        using var scenario = new HostScenario();
        using var host = scenario.BuildHost(options =>
        {
            options.RegisterSystemdSockets(name => name);
            options.SystemdSocketSource = () => SystemdSockets.Listen(new Dictionary<string, string>(), Environment.ProcessId, 3);
        });

        await host.StartAsync();
        await host.StopAsync();

        Assert.Contains(scenario.Logs.SkLookup(LogLevel.Information), line => line.Contains("not socket-activated", StringComparison.Ordinal));
        Assert.Empty(scenario.Logs.SkLookup(LogLevel.Warning));
        using var dispatcher = scenario.Open();
        Assert.Empty(dispatcher.Destinations());
    }

    /// <summary>
    /// Copies of sockets at consecutive free descriptors, as systemd passes them, closed on dispose
    /// (the process owns them, as it owns the descriptors systemd passes).
    /// </summary>
    private sealed class PassedDescriptors : IDisposable
    {
        private const int F_DUPFD = 0;

        public PassedDescriptors(params Socket[] sockets)
        {
            var start = 3000;
            while (true)
            {
                var copies = new List<int>();
                foreach (var socket in sockets)
                {
                    var copy = LibC.Fcntl((int)socket.Handle, F_DUPFD, copies.Count == 0 ? start : copies[0] + copies.Count);
                    Assert.True(copy >= 0);
                    copies.Add(copy);
                }
                if (copies[^1] == copies[0] + copies.Count - 1)
                {
                    Descriptors = copies;
                    return;
                }
                // Another thread opened a descriptor in the range: try above it.
                foreach (var copy in copies)
                    LibC.Close(copy);
                start = copies[^1] + 1;
            }
        }

        public IReadOnlyList<int> Descriptors { get; }

        public int First => Descriptors[0];

        /// <summary>What this process would see if systemd had passed the descriptors with these names.</summary>
        public IReadOnlyList<SystemdSocket> Listen(string names) => SystemdSockets.Listen(new Dictionary<string, string>
        {
            [SystemdSockets.ListenPidVariable] = $"{Environment.ProcessId}",
            [SystemdSockets.ListenFdsVariable] = $"{Descriptors.Count}",
            [SystemdSockets.ListenFdNamesVariable] = names,
        }, Environment.ProcessId, First);

        public void Dispose()
        {
            foreach (var fd in Descriptors)
                LibC.Close(fd);
        }
    }
}
