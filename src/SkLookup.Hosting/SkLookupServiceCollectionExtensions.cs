using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SkLookup.Hosting;

/// <summary>Adds sk_lookup socket registration to a Generic Host.</summary>
public static class SkLookupServiceCollectionExtensions
{
    /// <summary>
    /// Adds a hosted service that, when the host starts, opens the dispatcher that <c>sklookup load</c>
    /// loaded into the namespace and registers the configured sockets under their labels. The host fails
    /// to start, with a message saying what to do, when the dispatcher is not loaded or a socket is wrong.
    /// Calling it again adds more configuration to the same service.
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddSkLookup(options =>
    /// {
    ///     options.Register("dns", dnsSocket);
    ///     options.RegisterSystemdSockets(name => name);
    /// });
    /// </code>
    /// </example>
    public static IServiceCollection AddSkLookup(this IServiceCollection services, Action<SkLookupOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<SkLookupOptions>();
        if (configure is not null)
            builder.Configure(configure);
        services.TryAddSingleton<ListenSockets>();
        services.TryAddSingleton<SkLookupState>();
        services.AddMetrics();
        services.TryAddSingleton(provider => new SkLookupMetrics(provider.GetRequiredService<IMeterFactory>(), provider.GetRequiredService<IOptions<SkLookupOptions>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SkLookupHostedService>());
        return services;
    }

    /// <summary>
    /// Adds the hosted service with its options read from <paramref name="configuration"/>, usually
    /// <c>builder.Configuration.GetSection("SkLookup")</c> (appsettings.json, environment variables such as
    /// <c>SkLookup__BpfFs</c>, command-line arguments such as <c>--SkLookup:BpfFs=/path</c>), then from
    /// <paramref name="configure"/>. The settings are <c>BpfFs</c>, <c>LockTimeout</c>, <c>UnregisterOnStop</c>,
    /// <c>StopHostOnStartFailure</c>, <c>DryRun</c>, <c>OwnedLabels</c>, and <c>Labels:NAME:FallThrough</c> and
    /// <c>Labels:NAME:Bindings</c> (each with <c>Protocol</c>, <c>Prefix</c>, <c>Port</c>); the README has a JSON
    /// example. The labels' bindings are applied at start, and again when the configuration reloads. A wrong
    /// setting stops the host at start with one line that names it.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configuration">The configuration section with the settings.</param>
    /// <param name="configure">Configures what configuration cannot say: sockets to register, the namespace.</param>
    public static IServiceCollection AddSkLookup(this IServiceCollection services, IConfiguration configuration, Action<SkLookupOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSkLookup(options => SkLookupConfiguration.Bind(configuration, options));
        if (configure is not null)
            services.Configure(configure);
        // Lets IOptionsMonitor see a reload, so that the hosted service applies the new bindings.
        services.AddSingleton<IOptionsChangeTokenSource<SkLookupOptions>>(new ConfigurationChangeTokenSource<SkLookupOptions>(configuration));
        return services;
    }

    /// <summary>
    /// Adds a <see cref="SteeredUdpSocket"/> bound to <paramref name="bindEndPoint"/> (in
    /// <see cref="SkLookupOptions.Namespace"/> when one is set) and registered under <paramref name="label"/>
    /// at start. Resolve it as a keyed service: <c>GetRequiredKeyedService&lt;SteeredUdpSocket&gt;(label)</c>, or
    /// <c>GetKeyedServices&lt;SteeredUdpSocket&gt;(label)</c> when the label has several (one per family, say).
    /// The container closes it. If the address is in use, the host stops at start with one line saying so;
    /// a service that uses the socket should therefore start its work once the host has started (see the
    /// UdpEcho sample).
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="label">The label whose bindings send traffic here.</param>
    /// <param name="bindEndPoint">Any free address will do, e.g. 127.0.0.1:5353 or [::1]:5353: the bindings decide which traffic reaches it.</param>
    /// <param name="dualStack">For [::]: clears IPV6_V6ONLY and serves the label's IPv4 traffic too.</param>
    /// <param name="reusePort">Sets SO_REUSEPORT before binding, so that several processes can share the address.</param>
    public static IServiceCollection AddSteeredUdpSocket(this IServiceCollection services, string label, IPEndPoint bindEndPoint,
        bool dualStack = false, bool reusePort = false)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(bindEndPoint);
        Label.Validate(label);
        if (dualStack && bindEndPoint.AddressFamily != AddressFamily.InterNetworkV6)
            throw new ArgumentException($"dual-stack needs an IPv6 end point, not {bindEndPoint}", nameof(dualStack));
        services.AddSkLookup();
        var slot = new SteeredUdpSocketSlot(label, bindEndPoint, dualStack, reusePort);
        services.AddKeyedSingleton(label, (provider, _) => slot.Get(provider));
        services.Configure<SkLookupOptions>(options => options.Register(label, provider => slot.Get(provider).Socket, dualStack));
        return services;
    }
}
