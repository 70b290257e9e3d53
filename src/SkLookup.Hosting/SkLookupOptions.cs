using System.Net.Sockets;
using SkLookup.Bpf;

namespace SkLookup.Hosting;

/// <summary>
/// What the sk_lookup hosted service does at start: which dispatcher it opens, and which sockets it
/// registers there under which labels. Configure it with <see cref="SkLookupServiceCollectionExtensions.AddSkLookup(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{SkLookupOptions})"/>.
/// </summary>
public sealed class SkLookupOptions
{
    private readonly List<SocketRegistration> _registrations = [];

    /// <summary>The default bpffs mount, where <c>sklookup load</c> keeps its state unless told otherwise.</summary>
    public const string DefaultBpfFsPath = "/sys/fs/bpf";

    /// <summary>
    /// The network namespace whose dispatcher receives the sockets, or null for the process's own. The
    /// caller owns it and keeps it open while the host runs. Sockets that <c>ListenSkLookup</c> creates
    /// are created inside it, because the kernel steers only to sockets of the namespace.
    /// </summary>
    public NetworkNamespace? Namespace { get; set; }

    /// <summary>The bpffs mount the dispatcher was loaded on (<c>sklookup --bpffs</c>); <see cref="DefaultBpfFsPath"/> by default. Configuration: <c>SkLookup:BpfFs</c>.</summary>
    public string BpfFsPath { get; set; } = DefaultBpfFsPath;

    /// <summary>How long to wait for another writer (a <c>sklookup</c> command, another instance) to release the dispatcher's lock.</summary>
    public TimeSpan LockTimeout { get; set; } = Dispatcher.DefaultLockTimeout;

    /// <summary>
    /// Unregisters the sockets when the host stops, unless another instance registered its own in the
    /// meantime. Off by default: a closed socket leaves the kernel's sockets map by itself, and a restarted
    /// instance registers its new socket over the old entry, so unregistering only shortens the time in
    /// which the label's traffic is dropped (or falls through) instead of queued.
    /// </summary>
    public bool UnregisterOnStop { get; set; }

    /// <summary>
    /// What happens when the sockets cannot be registered at start (the dispatcher is not loaded, a socket's
    /// address is in use, ...). True (the default): the service logs one critical line saying what failed,
    /// why and what to do, sets <see cref="Environment.ExitCode"/> (the <c>sklookup</c> tool's codes: 3 not
    /// loaded, 2 a bad setting or bpffs path, 6 permission denied, 8 an address in use, 1 anything else),
    /// and stops the host as soon as it has started, so <c>app.Run()</c> returns without a stack trace.
    /// False: the host's start throws the exception (a <see cref="SteeringException"/> or a
    /// <see cref="System.Net.Sockets.SocketException"/>), for apps that handle it themselves.
    /// </summary>
    public bool StopHostOnStartFailure { get; set; } = true;

    /// <summary>
    /// The labels whose bindings and options this app sets, by name (configuration:
    /// <c>SkLookup:Labels:NAME:Bindings</c> and <c>SkLookup:Labels:NAME:FallThrough</c>). At start, and again
    /// whenever the configuration reloads, the service makes the bindings of the owned labels exactly
    /// these, atomically, with <see cref="Dispatcher.Apply"/>; other labels are left alone.
    /// </summary>
    public IDictionary<string, SkLookupLabelOptions> Labels { get; } = new Dictionary<string, SkLookupLabelOptions>(StringComparer.Ordinal);

    /// <summary>
    /// The labels this app owns: the apply may change their bindings and options, and no others. Empty
    /// (the default) means the labels of <see cref="Labels"/>. List a label here without bindings in
    /// <see cref="Labels"/> to remove the bindings it had. Two apps that share a dispatcher each own their
    /// own labels, so neither undoes the other.
    /// </summary>
    public ISet<string> OwnedLabels { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Logs what applying <see cref="Labels"/> would change, and changes nothing (the sockets are still registered).</summary>
    public bool DryRun { get; set; }

    /// <summary>The labels the apply may change: <see cref="OwnedLabels"/>, or those of <see cref="Labels"/> when it is empty.</summary>
    internal IReadOnlyCollection<string> EffectiveOwnedLabels => OwnedLabels.Count > 0 ? [.. OwnedLabels] : [.. Labels.Keys];

    /// <summary>What is wrong with the configuration section these options were read from, one entry per setting.</summary>
    internal List<string> ConfigurationErrors { get; } = [];

    /// <summary>The bindings document of <see cref="Labels"/>.</summary>
    internal BindingsDocument Document()
    {
        var bindings = new List<Binding>();
        var labels = new Dictionary<string, LabelOptions>(StringComparer.Ordinal);
        foreach (var (label, options) in Labels)
        {
            foreach (var binding in options.Bindings)
            {
                if (binding.Label != label)
                    throw new SteeringException(SteeringError.InvalidLabel,
                        $"sk_lookup: the binding '{binding}' is listed under the label '{label}': list it under its own label");
                bindings.Add(binding);
            }
            labels[label] = new LabelOptions(options.FallThrough);
        }
        return new BindingsDocument(bindings, labels);
    }

    /// <summary>The sockets to register, in the order given.</summary>
    internal IReadOnlyList<SocketRegistration> Registrations => _registrations;

    /// <summary>Chooses the label of each systemd-activated socket by its name, or null when <see cref="RegisterSystemdSockets"/> was not called.</summary>
    internal Func<string, string?>? SystemdLabelOf { get; private set; }

    /// <summary>Where activated sockets come from; tests pass sockets through the environment-taking overload of <see cref="SystemdSockets"/>.</summary>
    internal Func<IReadOnlyList<SystemdSocket>> SystemdSocketSource { get; set; } = () => SystemdSockets.Listen();

    /// <summary>
    /// Registers <paramref name="socket"/> for <paramref name="label"/> at start: a listening TCP socket or
    /// a bound, unconnected UDP socket, created in the dispatcher's namespace. The caller keeps owning it
    /// and must keep it open; closing it removes it from the dispatcher.
    /// </summary>
    /// <param name="label">The label whose bindings send traffic to the socket.</param>
    /// <param name="socket">The socket.</param>
    /// <param name="dualStack">For an IPv6 socket without IPV6_V6ONLY: also serve the label's IPv4 traffic.</param>
    public SkLookupOptions Register(string label, Socket socket, bool dualStack = false)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return Register(label, _ => socket, dualStack);
    }

    /// <summary>
    /// Registers the socket that <paramref name="socketFactory"/> returns at start, e.g. one owned by a
    /// service of the container. The factory's caller does not own the socket: whoever created it keeps
    /// it open, and closes it.
    /// </summary>
    /// <inheritdoc cref="Register(string, Socket, bool)"/>
    public SkLookupOptions Register(string label, Func<IServiceProvider, Socket> socketFactory, bool dualStack = false)
    {
        Label.Validate(label);
        ArgumentNullException.ThrowIfNull(socketFactory);
        _registrations.Add(new SocketRegistration(label, socketFactory, dualStack));
        return this;
    }

    /// <summary>
    /// Registers the sockets that systemd passed by socket activation (LISTEN_FDS), each under the label
    /// <paramref name="labelOf"/> gives its name (<c>FileDescriptorName=</c>, "unknown" without one); a null
    /// label leaves a socket out. An IPv6 socket without IPV6_V6ONLY serves its label's IPv4 traffic too,
    /// unless an IPv4 socket is passed for the same label. The descriptors stay open for the life of the
    /// process, so Kestrel's <c>UseSystemd()</c> or the app can serve them; nothing happens when the process
    /// was not socket-activated.
    /// </summary>
    /// <param name="labelOf">The label for a descriptor name, or null to skip it.</param>
    public SkLookupOptions RegisterSystemdSockets(Func<string, string?> labelOf)
    {
        ArgumentNullException.ThrowIfNull(labelOf);
        SystemdLabelOf = labelOf;
        return this;
    }
}
