using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SkLookup.Bpf;

namespace SkLookup.Hosting;

/// <summary>
/// Registers the configured sockets with the namespace's dispatcher when the host starts, and (when
/// asked) unregisters them when it stops. It holds the dispatcher's writer lock only while it writes,
/// so <c>sklookup</c> commands and other instances keep working while the app runs.
/// </summary>
/// <remarks>
/// It works in <see cref="StartingAsync"/>, before any hosted service starts (Kestrel among them). A
/// failure it can explain is logged as one line, sets the process exit code, and stops the host once it
/// has started: an exception from a hosted service would make the host log its stack trace and the
/// app's <c>Run()</c> crash, and stopping the host earlier makes Kestrel's start throw.
/// </remarks>
internal sealed class SkLookupHostedService(
    IOptions<SkLookupOptions> options,
    IOptionsMonitor<SkLookupOptions> monitor,
    ListenSockets listenSockets,
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    SkLookupState state,
    SkLookupMetrics metrics,
    ILogger<SkLookupHostedService> logger) : IHostedLifecycleService
{
    /// <summary>The destinations this instance filled, with the cookie of the socket it put there.</summary>
    private readonly List<(string Label, Family Family, Protocol Protocol, ulong? Cookie)> _registered = [];
    private readonly Lock _applyLock = new();
    private StartFailure? _failure;
    private IDisposable? _onChange;
    private Timer? _reapply;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // Taken so the container creates the instruments with the host, not at the first scrape.
        _ = metrics;
        try
        {
            Start();
        }
        catch (Exception exception) when (StartFailure.From(exception) is { } failure)
        {
            if (!options.Value.StopHostOnStartFailure)
                throw failure.InnerException ?? failure;
            _failure = failure;
            state.Failure = failure;
            Log.StartFailed(logger, failure.Message);
            if (Environment.ExitCode == 0)
                Environment.ExitCode = failure.ExitCode;
        }
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        // Every service has started by now, so stopping cannot fail anyone's start (Kestrel's throws on a cancelled token).
        if (_failure is not null)
            lifetime.StopApplication();
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _onChange?.Dispose();
        _reapply?.Dispose();
        return Task.CompletedTask;
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Start()
    {
        // A listener that ListenSkLookup could not create (its address is in use, say) failed when Kestrel was configured.
        if (listenSockets.Failure is { } listenFailure)
            throw listenFailure;
        var settings = options.Value;
        if (settings.ConfigurationErrors.Count > 0)
            throw InvalidConfiguration(settings);
        var owned = settings.EffectiveOwnedLabels;
        var document = settings.Document();
        var pending = new List<PendingSocket>();
        foreach (var registration in settings.Registrations)
            pending.Add(PendingSocket.From(registration, services));
        // Kestrel applied its options, and so ran ListenSkLookup, when it was created: WebApplication creates it
        // when it is built, and a Generic Host creates every hosted service (the web one too) before starting any.
        foreach (var registration in listenSockets.Registrations())
            pending.Add(PendingSocket.From(registration, services));
        var labelOf = settings.SystemdLabelOf;
        var activated = labelOf is null ? [] : settings.SystemdSocketSource();
        try
        {
            if (labelOf is not null && activated.Count == 0)
                Log.NotActivated(logger);
            foreach (var socket in activated)
            {
                if (labelOf!(socket.Name) is { } label)
                    pending.Add(PendingSocket.From(label, socket));
                else
                    Log.SystemdSocketSkipped(logger, socket.ToString());
            }
            if (pending.Count == 0 && owned.Count == 0)
            {
                // An app that only takes systemd's sockets may well run without them, e.g. on a developer's machine.
                if (labelOf is null)
                    Log.NothingToRegister(logger);
                return;
            }
            // Dual-stack sockets go first, so that an IPv4 socket of the same label takes the label's IPv4 traffic from them.
            var ordered = pending.Where(p => p.DualStack).Concat(pending.Where(p => !p.DualStack)).ToList();
            // A dry run with nothing to register only reads, so it works beside a writer.
            using var dispatcher = DispatcherAccess.Open(settings, write: ordered.Count > 0 || !settings.DryRun);
            // Sockets first, then the bindings that send traffic to them: a new binding never waits for its socket.
            foreach (var socket in ordered)
                Register(dispatcher, socket);
            state.AddLabels(ordered.Select(socket => socket.Label));
            if (owned.Count > 0)
            {
                Apply(dispatcher, document, owned, settings.DryRun);
                state.AddLabels(owned);
            }
            WarnAboutUnboundLabels(dispatcher, ordered);
        }
        finally
        {
            // Activated descriptors belong to the process, not to us: Kestrel's UseSystemd() or the app may
            // serve them by number, so they must never be closed here, not even by a finalizer.
            foreach (var socket in activated)
            {
                if (!socket.Handle.IsInvalid && !socket.Handle.IsClosed)
                    socket.Handle.Release();
            }
        }
        // A reload of the configuration applies the labels' bindings again; the timer makes a burst of change events one apply.
        var reapply = _reapply = new Timer(_ => Reapply());
        _onChange = monitor.OnChange((_, name) =>
        {
            if (name == Microsoft.Extensions.Options.Options.DefaultName)
                reapply.Change(TimeSpan.FromMilliseconds(250), Timeout.InfiniteTimeSpan);
        });
    }

    /// <summary>Applies the owned labels' bindings and options, and logs what changed (or, in a dry run, would).</summary>
    private void Apply(Dispatcher dispatcher, BindingsDocument document, IReadOnlyCollection<string> owned, bool dryRun)
    {
        var diff = dispatcher.Apply(document, dryRun, owned);
        var labels = string.Join(", ", owned.Order(StringComparer.Ordinal).Select(label => $"'{label}'"));
        const int Shown = 50;
        var shown = 0;
        foreach (var binding in diff.Removed)
            if (shown++ < Shown)
                Log.BindingChanged(logger, dryRun ? "would remove" : "removed", binding.ToString());
        foreach (var binding in diff.Added)
            if (shown++ < Shown)
                Log.BindingChanged(logger, dryRun ? "would add" : "added", binding.ToString());
        if (shown > Shown)
            Log.MoreChanges(logger, shown - Shown);
        if (dryRun)
            Log.DryRun(logger, labels, diff.Added.Count, diff.Removed.Count);
        else
            Log.Applied(logger, labels, diff.Added.Count, diff.Removed.Count, document.Bindings.Count);
    }

    /// <summary>Applies the bindings of the reloaded configuration; a failure leaves the dispatcher as it was, and says why.</summary>
    private void Reapply()
    {
        lock (_applyLock)
        {
            if (_failure is not null)
                return;
            try
            {
                var settings = monitor.CurrentValue;
                if (settings.ConfigurationErrors.Count > 0)
                    throw InvalidConfiguration(settings);
                var owned = settings.EffectiveOwnedLabels;
                if (owned.Count == 0)
                    return;
                var document = settings.Document();
                using var dispatcher = DispatcherAccess.Open(settings, write: !settings.DryRun);
                Apply(dispatcher, document, owned, settings.DryRun);
                state.AddLabels(owned);
            }
            catch (Exception exception) when (StartFailure.From(exception) is { } failure)
            {
                Log.ReapplyFailed(logger, failure.Message);
            }
        }
    }

    private static StartFailure InvalidConfiguration(SkLookupOptions settings)
    {
        var message = $"sk_lookup: the configuration is not valid: {string.Join("; ", settings.ConfigurationErrors)}";
        return new StartFailure(message, StartFailure.Usage, new SteeringException(SteeringError.InvalidFile, message));
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.UnregisterOnStop || _registered.Count == 0)
            return Task.CompletedTask;
        try
        {
            using var dispatcher = DispatcherAccess.Open(settings, write: true);
            var current = dispatcher.Destinations();
            foreach (var (label, family, protocol, cookie) in _registered)
            {
                var now = current.FirstOrDefault(d => d.Label == label && d.Family == family && d.Protocol == protocol);
                if (now?.SocketCookie is null)
                    continue; // Gone already: the socket closed, or someone unregistered it.
                // Another instance may have registered its socket since (a restart that overlapped this one): leave its socket alone.
                if (now.SocketCookie != cookie)
                {
                    Log.NotOurs(logger, label, family.Name(), protocol.Name(), now.SocketCookie, cookie);
                    continue;
                }
                if (dispatcher.UnregisterSocket(label, family, protocol))
                    Log.Unregistered(logger, label, family.Name(), protocol.Name());
            }
            _registered.Clear();
        }
        catch (SteeringException exception)
        {
            // Stopping goes on regardless: the sockets leave the map when they close.
            Log.UnregisterFailed(logger, exception);
        }
        return Task.CompletedTask;
    }

    private void Register(Dispatcher dispatcher, PendingSocket socket)
    {
        var status = socket.Register(dispatcher);
        _registered.Add((status.Label, status.Family, status.Protocol, status.SocketCookie));
        if (socket.DualStack)
            _registered.Add((status.Label, Family.IPv6, status.Protocol, status.SocketCookie));
        Log.Registered(logger, socket.Description, status.Label, socket.DualStack ? "ipv4+ipv6" : status.Family.Name(), status.Protocol.Name(),
            status.Id, status.SocketCookie, dispatcher.NetworkNamespaceInode);
    }

    private void WarnAboutUnboundLabels(Dispatcher dispatcher, IReadOnlyList<PendingSocket> sockets)
    {
        var bound = new HashSet<string>(StringComparer.Ordinal);
        foreach (var binding in dispatcher.Bindings())
            bound.Add(binding.Label);
        var warned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var socket in sockets)
        {
            if (!bound.Contains(socket.Label) && warned.Add(socket.Label))
                Log.NoBindings(logger, socket.Label);
        }
    }

    /// <summary>A socket about to be registered, whatever it came from.</summary>
    private sealed record PendingSocket(string Label, bool DualStack, string Description, Func<Dispatcher, DestinationStatus> Register)
    {
        public static PendingSocket From(SocketRegistration registration, IServiceProvider services)
        {
            var socket = registration.Socket(services)
                ?? throw new InvalidOperationException($"sk_lookup: the socket factory for '{registration.Label}' returned null: return the socket to register");
            if (socket.SafeHandle.IsClosed)
                throw new SteeringException(SteeringError.WrongSocket,
                    $"sk_lookup: the socket for '{registration.Label}' is closed: keep registered sockets open while the host runs");
            return new PendingSocket(registration.Label, registration.DualStack, Describe(socket),
                dispatcher => dispatcher.RegisterSocket(registration.Label, socket, registration.DualStack));
        }

        public static PendingSocket From(string label, SystemdSocket socket)
        {
            var dualStack = socket.Description is { Family: AddressFamily.InterNetworkV6, IsV6Only: false };
            var description = socket.Description is { } known
                ? $"{Kind(known.Protocol)} socket {known.LocalEndPoint?.ToString() ?? "(unbound)"} from systemd ({socket.Name}, fd {socket.Fd})"
                : $"systemd descriptor {socket.Name} (fd {socket.Fd}, not a socket)";
            return new PendingSocket(label, dualStack, description, dispatcher => dispatcher.RegisterSocket(label, socket.Handle, dualStack));
        }

        private static string Describe(Socket socket) => $"{Kind(socket.ProtocolType)} socket {socket.LocalEndPoint?.ToString() ?? "(unbound)"}";

        private static string Kind(ProtocolType protocol) => protocol switch
        {
            ProtocolType.Tcp => "TCP",
            ProtocolType.Udp => "UDP",
            _ => protocol.ToString(),
        };
    }
}
