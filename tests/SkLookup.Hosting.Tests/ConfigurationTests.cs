using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>The options from configuration: the app's labels and bindings applied at start and on reload, confined to the labels it owns.</summary>
public sealed class ConfigurationTests
{
    /// <summary>The README's example, less the bpffs path, which the scenario sets.</summary>
    private const string ReadmeExample = """
        {
          "SkLookup": {
            "OwnedLabels": [ "web", "dns" ],
            "Labels": {
              "web": {
                "Bindings": [
                  { "Protocol": "tcp", "Prefix": "192.0.2.0/24", "Port": 80 },
                  { "Protocol": "tcp", "Prefix": "2001:db8::/64", "Port": "443" }
                ]
              },
              "dns": {
                "FallThrough": true,
                "Bindings": [ { "Prefix": "192.0.2.53", "Port": 53 } ]
              }
            }
          }
        }
        """;

    [Fact]
    public async Task AppliesTheReadmesExampleAtStartAndLeavesOtherLabelsAlone()
    {
        using var scenario = new HostScenario();
        scenario.Bind("other", "tcp", "198.51.100.0/24", "80"); // another app's binding
        using var web = scenario.NetNs.Listen(IPEndPoint.Parse("127.0.0.1:8080"));
        using var host = BuildHost(scenario, configuration => configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(ReadmeExample))),
            options => options.Register("web", web));

        await host.StartAsync();

        using (var dispatcher = scenario.Open())
        {
            Assert.Equal(
                ["dns tcp 192.0.2.53/32 53", "dns udp 192.0.2.53/32 53", "other tcp 198.51.100.0/24 80", "web tcp 192.0.2.0/24 80", "web tcp 2001:db8::/64 443"],
                dispatcher.Bindings().Select(Text).Order(StringComparer.Ordinal));
            Assert.All(dispatcher.Destinations().Where(d => d.Label == "dns"), d => Assert.True(d.FallThrough));
        }
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(scenario.NetNs, IPEndPoint.Parse("192.0.2.7:80"), web));
        Assert.Contains(scenario.Logs.SkLookup(LogLevel.Information), line => line.Contains("applied the bindings of 'dns', 'web': added 4, removed 0", StringComparison.Ordinal));
        await host.StopAsync();
    }

    [Fact]
    public async Task AReloadAppliesTheNewBindings()
    {
        using var scenario = new HostScenario();
        var memory = new Dictionary<string, string?>
        {
            ["SkLookup:Labels:web:Bindings:0:Protocol"] = "tcp",
            ["SkLookup:Labels:web:Bindings:0:Prefix"] = "192.0.2.0/24",
            ["SkLookup:Labels:web:Bindings:0:Port"] = "80",
        };
        IConfigurationRoot? root = null;
        using var host = BuildHost(scenario, configuration =>
        {
            configuration.AddInMemoryCollection(memory);
            root = (IConfigurationRoot)configuration;
        });
        await host.StartAsync();
        Assert.Equal(["web tcp 192.0.2.0/24 80"], Bindings(scenario));

        var provider = root!.Providers.OfType<MemoryConfigurationProvider>().Last(); // Ours: added after the host's own.
        provider.Set("SkLookup:Labels:web:Bindings:0:Port", "8080");
        provider.Set("SkLookup:Labels:web:Bindings:1:Protocol", "udp");
        provider.Set("SkLookup:Labels:web:Bindings:1:Prefix", "2001:db8::1");
        root.Reload();

        await WaitFor(() => Bindings(scenario).SequenceEqual(["web tcp 192.0.2.0/24 8080", "web udp 2001:db8::1/128 any"]), "the reloaded bindings");
        Assert.Contains(scenario.Logs.SkLookup(LogLevel.Information), line => line.Contains("removed binding web tcp 192.0.2.0/24 80", StringComparison.Ordinal));

        // A reload with a wrong setting says so and changes nothing.
        provider.Set("SkLookup:Labels:web:Bindings:0:Port", "70000");
        root.Reload();
        await WaitFor(() => scenario.Logs.Lines.Any(line => line.Level == LogLevel.Error && line.Message.Contains("SkLookup:Labels:web:Bindings:0", StringComparison.Ordinal)), "the error");
        Assert.Equal(["web tcp 192.0.2.0/24 8080", "web udp 2001:db8::1/128 any"], Bindings(scenario));
        await host.StopAsync();
    }

    [Fact]
    public async Task ADryRunLogsTheDiffAndChangesNothing()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        using var host = BuildHost(scenario, configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SkLookup:DryRun"] = "true",
            ["SkLookup:Labels:web:Bindings:0:Protocol"] = "tcp",
            ["SkLookup:Labels:web:Bindings:0:Prefix"] = "192.0.2.0/25",
            ["SkLookup:Labels:web:Bindings:0:Port"] = "80",
        }));

        await host.StartAsync();

        var lines = scenario.Logs.SkLookup(LogLevel.Information);
        Assert.Contains("sk_lookup: would remove binding web tcp 192.0.2.0/24 80", lines);
        Assert.Contains("sk_lookup: would add binding web tcp 192.0.2.0/25 80", lines);
        Assert.Contains(lines, line => line.Contains("dry run: applying the bindings of 'web' would add 1 and remove 1; nothing changed", StringComparison.Ordinal));
        Assert.Equal(["web tcp 192.0.2.0/24 80"], Bindings(scenario));
        await host.StopAsync();
    }

    [Fact]
    public async Task AnOwnedLabelWithoutBindingsLosesTheOnesItHad()
    {
        using var scenario = new HostScenario();
        scenario.Bind("web", "tcp", "192.0.2.0/24", "80");
        scenario.Bind("other", "udp", "192.0.2.0/24", "53");
        using var host = BuildHost(scenario, configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SkLookup:OwnedLabels"] = "web",
        }));

        await host.StartAsync();

        Assert.Equal(["other udp 192.0.2.0/24 53"], Bindings(scenario));
        await host.StopAsync();
    }

    /// <summary>A bare number is seconds (not days, as TimeSpan.Parse would read "5"); hh:mm:ss works too.</summary>
    [Theory]
    [InlineData("5", 5.0)]
    [InlineData("0.25", 0.25)]
    [InlineData("00:00:05", 5.0)]
    [InlineData("00:01:00", 60.0)]
    public void LockTimeoutIsSecondsOrHoursMinutesSeconds(string setting, double seconds)
    {
        var options = Read(new Dictionary<string, string?> { ["SkLookup:LockTimeout"] = setting });
        Assert.Empty(options.ConfigurationErrors);
        Assert.Equal(TimeSpan.FromSeconds(seconds), options.LockTimeout);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("00:00:00")]
    public void ALockTimeoutThatIsNotPositiveIsRefused(string setting) =>
        Assert.StartsWith("SkLookup:LockTimeout: ", Assert.Single(Read(new Dictionary<string, string?> { ["SkLookup:LockTimeout"] = setting }).ConfigurationErrors), StringComparison.Ordinal);

    [Fact]
    public void ReadsEveryOtherSettingAndNamesEachWrongOne()
    {
        var good = Read(new Dictionary<string, string?>
        {
            ["SkLookup:BpfFs"] = "/run/bpf",
            ["SkLookup:LockTimeout"] = "2.5",
            ["SkLookup:UnregisterOnStop"] = "true",
            ["SkLookup:StopHostOnStartFailure"] = "false",
            ["SkLookup:Label"] = "left to the app",
        });
        Assert.Equal(("/run/bpf", TimeSpan.FromSeconds(2.5), true, false), (good.BpfFsPath, good.LockTimeout, good.UnregisterOnStop, good.StopHostOnStartFailure));
        Assert.Empty(good.ConfigurationErrors);

        var bad = Read(new Dictionary<string, string?>
        {
            ["SkLookup:LockTimeout"] = "soon",
            ["SkLookup:DryRun"] = "yes",
            ["SkLookup:Labels:two words:FallThrough"] = "true",
            ["SkLookup:Labels:web:Fallthrough"] = "true",        // the right key, case aside: fine
            ["SkLookup:Labels:web:Binding:0:Prefix"] = "192.0.2.0/24",
            ["SkLookup:Labels:web:Bindings:0:Prefix"] = "192.0.2.1/24",
            ["SkLookup:Labels:web:Bindings:1:Port"] = "80",
            ["SkLookup:Labels:web:Bindings:2:Prefix"] = "192.0.2.0/24",
            ["SkLookup:Labels:web:Bindings:2:Prot"] = "tcp",
        });
        Assert.Collection(bad.ConfigurationErrors.Order(StringComparer.Ordinal),
            e => Assert.StartsWith("SkLookup:DryRun: 'yes' is not true or false", e, StringComparison.Ordinal),
            e => Assert.StartsWith("SkLookup:Labels:two words: ", e, StringComparison.Ordinal),
            e => Assert.StartsWith("SkLookup:Labels:web:Binding: unknown setting", e, StringComparison.Ordinal),
            e => Assert.StartsWith("SkLookup:Labels:web:Bindings:0: ", e, StringComparison.Ordinal),
            e => Assert.StartsWith("SkLookup:Labels:web:Bindings:1: the binding has no Prefix", e, StringComparison.Ordinal),
            e => Assert.StartsWith("SkLookup:Labels:web:Bindings:2:Prot: unknown setting", e, StringComparison.Ordinal),
            e => Assert.StartsWith("SkLookup:LockTimeout: 'soon' is not a duration", e, StringComparison.Ordinal));
        Assert.True(bad.Labels["web"].FallThrough);
    }

    private static SkLookupOptions Read(Dictionary<string, string?> settings)
    {
        var options = new SkLookupOptions();
        SkLookupConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("SkLookup"), options);
        return options;
    }

    private static IHost BuildHost(HostScenario scenario, Action<IConfigurationBuilder> configure, Action<SkLookupOptions>? options = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        scenario.UseLogs(builder.Logging);
        configure(builder.Configuration);
        builder.Services.AddSkLookup(builder.Configuration.GetSection("SkLookup"), o =>
        {
            scenario.Target(o);
            options?.Invoke(o);
        });
        return builder.Build();
    }

    private static string Text(Binding binding) => binding.ToString();

    private static List<string> Bindings(HostScenario scenario)
    {
        using var dispatcher = scenario.Open();
        return [.. dispatcher.Bindings().Select(Text).Order(StringComparer.Ordinal)];
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Traffic.Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
