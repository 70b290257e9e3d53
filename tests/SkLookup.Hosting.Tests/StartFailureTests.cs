using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>Tests that read the process exit code a failed start sets: one at a time.</summary>
[CollectionDefinition(nameof(ExitCodeCollection), DisableParallelization = true)]
public sealed class ExitCodeCollection;

/// <summary>
/// A start that cannot register logs one critical line (what failed, why, what to do), sets the exit code,
/// and stops the host once it has started; with <see cref="SkLookupOptions.StopHostOnStartFailure"/> off, the
/// start throws instead. The app as a child process is in <see cref="SampleProcessTests"/>.
/// </summary>
[Collection(nameof(ExitCodeCollection))]
public sealed class StartFailureTests
{
    [Fact]
    public async Task NotLoadedDispatcherLogsOneLineSayingToRunLoad()
    {
        using var scenario = new HostScenario(load: false);
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var host = scenario.BuildHost(options => options.Register("web", web));

        var (line, exitCode) = await StartFailing(scenario, host);

        Assert.Equal(3, exitCode);
        Assert.Contains($"not loaded in network namespace {scenario.NetNs.Namespace.Inode} on bpffs {scenario.BpfFs.Path}", line, StringComparison.Ordinal);
        Assert.Contains("run 'sklookup load'", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotLoadedDispatcherThrowsWhenTheAppHandlesFailuresItself()
    {
        using var scenario = new HostScenario(load: false);
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var host = scenario.BuildHost(options =>
        {
            options.StopHostOnStartFailure = false;
            options.Register("web", web);
        });

        var failure = await Assert.ThrowsAsync<SteeringException>(() => host.StartAsync());

        Assert.Equal(SteeringError.NotLoaded, failure.Error);
        Assert.DoesNotContain('\n', failure.Message);
        Assert.Empty(scenario.Logs.SkLookup(LogLevel.Critical));
    }

    [Fact]
    public async Task APathThatIsNotBpfFsLogsOneLineNamingIt()
    {
        using var scenario = new HostScenario(load: false);
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        var notBpfFs = Directory.CreateTempSubdirectory("sklookup-not-bpffs-").FullName;
        try
        {
            using var host = scenario.BuildHost(options =>
            {
                options.Register("web", web);
                options.BpfFsPath = notBpfFs;
            });
            var (line, exitCode) = await StartFailing(scenario, host);
            Assert.Equal(2, exitCode);
            Assert.Contains($"{notBpfFs} is not a bpffs mount", line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(notBpfFs);
        }
    }

    [Fact]
    public async Task ASocketOfAnotherNamespaceLogsOneLine()
    {
        using var scenario = new HostScenario();
        using var elsewhere = new TestNetNs();
        using var outsider = elsewhere.BindUdp(new IPEndPoint(IPAddress.Loopback, 5353));
        using var host = scenario.BuildHost(options => options.Register("dns", outsider));

        var (line, exitCode) = await StartFailing(scenario, host);

        Assert.Equal(2, exitCode);
        Assert.Contains("create the socket in that namespace", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClosedSocketLogsOneLine()
    {
        using var scenario = new HostScenario();
        var closed = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        closed.Dispose();
        using var host = scenario.BuildHost(options => options.Register("web", closed));

        var (line, exitCode) = await StartFailing(scenario, host);

        Assert.Equal(2, exitCode);
        Assert.Contains("the socket for 'web' is closed", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUdpAddressInUseLogsOneLineNamingIt()
    {
        using var scenario = new HostScenario();
        using var taken = scenario.NetNs.BindUdp(IPEndPoint.Parse("127.0.0.1:5353"));
        using var host = scenario.BuildHost(_ => { }, services => services.AddSteeredUdpSocket("echo", IPEndPoint.Parse("127.0.0.1:5353")));

        var (line, exitCode) = await StartFailing(scenario, host);

        Assert.Equal(8, exitCode);
        Assert.Contains("cannot listen on 127.0.0.1:5353 for 'echo' (AddSteeredUdpSocket): the address is in use", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKestrelAddressInUseLogsOneLineNamingIt()
    {
        using var scenario = new HostScenario();
        using var taken = scenario.NetNs.Listen(IPEndPoint.Parse("127.0.0.1:8080"));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        scenario.UseLogs(builder.Logging);
        builder.Services.AddSkLookup(scenario.Target);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenSkLookup("web", IPEndPoint.Parse("127.0.0.1:8080")));
        await using var app = builder.Build();

        var (line, exitCode) = await StartFailing(scenario, app);

        Assert.Equal(8, exitCode);
        Assert.Contains("cannot listen on 127.0.0.1:8080 for 'web' (ListenSkLookup): the address is in use", line, StringComparison.Ordinal);
        using var dispatcher = scenario.Open();
        Assert.Empty(dispatcher.Destinations()); // Nothing was registered.
    }

    [Fact]
    public async Task AWrongSettingLogsOneLineNamingIt()
    {
        using var scenario = new HostScenario();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        scenario.UseLogs(builder.Logging);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SkLookup:Labels:web:Bindings:0:Prefix"] = "192.0.2.0/24",
            ["SkLookup:Labels:web:Bindings:0:Port"] = "seventy",
        });
        builder.Services.AddSkLookup(builder.Configuration.GetSection("SkLookup"), scenario.Target);
        using var host = builder.Build();

        var (line, exitCode) = await StartFailing(scenario, host);

        Assert.Equal(2, exitCode);
        Assert.StartsWith("sk_lookup: the configuration is not valid: SkLookup:Labels:web:Bindings:0: ", line, StringComparison.Ordinal);
        using var dispatcher = scenario.Open();
        Assert.Empty(dispatcher.Bindings());
    }

    /// <summary>Starts a host whose start must fail, and returns its one critical line and the exit code it set.</summary>
    internal static async Task<(string Line, int ExitCode)> StartFailing(HostScenario scenario, IHost host)
    {
        var before = Environment.ExitCode;
        Environment.ExitCode = 0;
        try
        {
            await host.StartAsync();
            Assert.True(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested, "the host was not asked to stop");
            await host.StopAsync();
            var line = Assert.Single(scenario.Logs.SkLookup(LogLevel.Critical));
            Assert.DoesNotContain('\n', line);
            Assert.DoesNotContain(scenario.Logs.Lines, entry => entry.Level >= LogLevel.Error && entry.Level != LogLevel.Critical);
            return (line, Environment.ExitCode);
        }
        finally
        {
            Environment.ExitCode = before;
        }
    }
}
