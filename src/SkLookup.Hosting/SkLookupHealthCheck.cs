using System.Globalization;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace SkLookup.Hosting;

/// <summary>
/// Whether steering works for this app: Unhealthy when the dispatcher is not loaded in the app's namespace
/// (or cannot be read, or the start failed), Degraded when it was loaded by another version (run
/// <c>sklookup upgrade</c>) or a label of this app has bindings but no socket registered for them (its
/// traffic is dropped, or falls through), and Healthy otherwise. The description says why, in one line.
/// Add it with <see cref="SkLookupHealthChecksBuilderExtensions.AddSkLookup"/>.
/// </summary>
/// <remarks>
/// The labels of this app are those it registered sockets for at start, and those its configuration
/// owns. Each check reads the pinned maps under a shared lock, as <c>sklookup status</c> does.
/// </remarks>
public sealed class SkLookupHealthCheck : IHealthCheck
{
    private readonly IOptions<SkLookupOptions> _options;
    private readonly SkLookupState _state;

    internal SkLookupHealthCheck(IOptions<SkLookupOptions> options, SkLookupState state)
    {
        _options = options;
        _state = state;
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    private HealthCheckResult Check()
    {
        var snapshot = SteeringSnapshot.Read(_options.Value);
        var data = new Dictionary<string, object>
        {
            ["netns"] = snapshot.NamespaceInode,
            ["bpffs"] = _options.Value.BpfFsPath,
            ["loaded"] = snapshot.Loaded,
        };
        if (!snapshot.Loaded)
            return HealthCheckResult.Unhealthy(snapshot.Problem ?? "sk_lookup steering is not loaded: run 'sklookup load'", data: data);
        if (snapshot.Error == SteeringError.VersionMismatch)
            return HealthCheckResult.Degraded($"{snapshot.Problem}; steering goes on as it was, but this app cannot change it until 'sklookup upgrade' runs", data: data);
        if (snapshot.Error == SteeringError.LockTimeout)
            return HealthCheckResult.Degraded($"could not read the dispatcher: {snapshot.Problem}", data: data);
        if (snapshot.Error is not null)
            return HealthCheckResult.Unhealthy(snapshot.Problem, data: data);
        if (_state.Failure is { } failure)
            return HealthCheckResult.Unhealthy($"the app's start failed: {failure.Message}", data: data);
        if (snapshot.UpgradeReason is { } outdated)
            return HealthCheckResult.Degraded($"sk_lookup steering was loaded by another version ({outdated}); steering goes on, but run 'sklookup upgrade' before this app changes it", data: data);

        var labels = _state.Labels();
        data["labels"] = string.Join(",", labels);
        var missing = new List<string>();
        var served = new List<string>();
        foreach (var label in labels)
        {
            var bound = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var binding in snapshot.Bindings)
                if (binding.Label == label)
                    bound.Add($"{binding.Protocol.Name()} {binding.Family.Name()}");
            var withSocket = new HashSet<string>(StringComparer.Ordinal);
            foreach (var destination in snapshot.Destinations)
                if (destination.Label == label && destination.SocketCookie is not null)
                    withSocket.Add($"{destination.Protocol.Name()} {destination.Family.Name()}");
            var lacking = bound.Where(kind => !withSocket.Contains(kind)).ToList();
            if (lacking.Count > 0)
                missing.Add($"'{label}' has {string.Join(" and ", lacking)} bindings but no socket for them");
            else
                served.Add(bound.Count == 0 ? $"'{label}' (no bindings yet)" : $"'{label}' ({string.Join(", ", bound)})");
        }
        if (missing.Count > 0)
            return HealthCheckResult.Degraded(
                $"{string.Join("; ", missing)}, so its traffic is dropped (or falls through): restart the app, or register a socket with 'sklookup register'",
                data: data);
        var text = new StringBuilder("sk_lookup steering is loaded in network namespace ")
            .Append(snapshot.NamespaceInode.ToString(CultureInfo.InvariantCulture));
        text.Append(served.Count == 0 ? "; this app has no labels" : $"; serving {string.Join(", ", served)}");
        return HealthCheckResult.Healthy(text.ToString(), data);
    }
}
