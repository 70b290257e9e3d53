using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

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
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SkLookupHostedService>());
        return services;
    }
}
