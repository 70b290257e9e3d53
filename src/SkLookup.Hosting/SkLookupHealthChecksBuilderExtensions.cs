using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace SkLookup.Hosting;

/// <summary>Adds <see cref="SkLookupHealthCheck"/> to the app's health checks.</summary>
public static class SkLookupHealthChecksBuilderExtensions
{
    /// <summary>The health check's default name.</summary>
    public const string DefaultName = "sklookup";

    /// <summary>
    /// Adds the sk_lookup health check (and the sk_lookup service, if it is not added yet), e.g.
    /// <c>services.AddHealthChecks().AddSkLookup()</c>, then <c>app.MapHealthChecks("/healthz")</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="tags">Tags to filter checks by, e.g. "ready".</param>
    public static IHealthChecksBuilder AddSkLookup(this IHealthChecksBuilder builder, string name = DefaultName, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSkLookup();
        return builder.Add(new HealthCheckRegistration(name,
            services => new SkLookupHealthCheck(services.GetRequiredService<IOptions<SkLookupOptions>>(), services.GetRequiredService<SkLookupState>()),
            failureStatus: null, tags));
    }

    /// <summary>
    /// A response writer for <c>MapHealthChecks</c> that says why, not only how: one line per check,
    /// <c>Degraded: sklookup: 'web' has tcp ipv4 bindings but no socket for them, ...</c>, after the overall
    /// status. The status code stays the middleware's (200, or 503 when Unhealthy).
    /// </summary>
    /// <example><code>app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = SkLookupHealthChecksBuilderExtensions.WriteStatusAndDescriptions });</code></example>
    public static Task WriteStatusAndDescriptions(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        var text = new System.Text.StringBuilder().Append(report.Status).Append('\n');
        foreach (var (name, entry) in report.Entries)
            text.Append(entry.Status).Append(": ").Append(name).Append(": ").Append(entry.Description?.ReplaceLineEndings(" ") ?? "").Append('\n');
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }
}
