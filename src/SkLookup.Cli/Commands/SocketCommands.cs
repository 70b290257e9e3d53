using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using SkLookup.Bpf;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup register | register-pid | unregister</c>: the sockets that receive a label's traffic.</summary>
internal static class SocketCommands
{
    /// <summary>The socket commands.</summary>
    public static IEnumerable<Command> Create() => [Register(), RegisterPid(), Unregister()];

    private static Option<bool> DualStackOption() => new("--dual-stack")
    {
        Description = "An IPv6 socket without IPV6_V6ONLY also receives the label's IPv4 traffic",
    };

    private static Command Register()
    {
        var label = new Argument<string>("LABEL") { Description = "The label whose traffic the sockets receive" };
        var dualStack = DualStackOption();
        var command = new Command("register", "Register the sockets that systemd passed (socket activation: LISTEN_PID, LISTEN_FDS) for a label")
        {
            label,
            dualStack,
        };
        command.HelpFooter("""
            Each socket serves its own family and protocol, replacing a socket registered before. The sockets must
            stay open after this command exits, so they come from a systemd socket unit, which holds them (and
            hands them to the server): a service with Sockets=web.socket and ExecStart=sklookup register web.
            The package's template does that: 'systemctl enable --now sklookup-register@web.service' registers
            the sockets of web.socket for the label web. (A socket only sklookup holds, e.g. from
            systemd-socket-activate, closes when sklookup exits, and its registration with it.)
            For a server that is running already, use register-pid instead.
            To replace a server without refusing a connection: start the new one, register its socket (this
            replaces the old one atomically), then stop the old one once it has accepted what it queued.
            """);
        return command.Runs("register", context =>
        {
            var name = Label.Validate(context.Get(label));
            var passed = SystemdSockets.Listen(unsetEnvironment: true);
            try
            {
                if (passed.Count == 0)
                    throw new CliException(ExitCode.Usage,
                        "no sockets were passed to sklookup (LISTEN_PID and LISTEN_FDS do not name this process); run it with sockets from systemd socket activation, or use register-pid");
                foreach (var socket in passed)
                    if (socket.Description is null)
                        throw new CliException(ExitCode.Usage, $"passed fd {socket.Fd} ({socket.Name}) is not a socket; pass only TCP and UDP sockets; nothing was registered");
                using var dispatcher = context.OpenDispatcher(write: true);
                // Every socket is checked before any is registered: one wrong socket registers none.
                var statuses = dispatcher.RegisterSockets(name, [.. passed.Select(socket => socket.Handle)], context.Get(dualStack));
                var registered = new List<(SystemdSocket Socket, DestinationStatus Status)>();
                for (var i = 0; i < passed.Count; i++)
                    registered.Add((passed[i], statuses[i]));
                context.Write(new JsonObject
                {
                    ["registered"] = JsonArrays.From(registered, item => Registered(item.Status, item.Socket.Description!, null, item.Socket.Fd)),
                }, output =>
                {
                    foreach (var (socket, status) in registered)
                        output.WriteLine($"registered fd {socket.Fd} ({socket.Description}) for '{status.Label}' {status.Family.Name()} {status.Protocol.Name()}");
                });
                return ExitCode.Ok;
            }
            finally
            {
                foreach (var socket in passed)
                    socket.Dispose();
            }
        });
    }

    private static Command RegisterPid()
    {
        var pids = new Argument<string>("PID")
        {
            Description = "The process that holds the socket: a pid, several (\"$(pidof nginx)\", or 1234,1235), or a pidfile such as /run/nginx.pid",
        };
        var label = new Argument<string>("LABEL") { Description = "The label whose traffic the socket receives" };
        var protocol = new Argument<string>("PROTO") { Description = "tcp (a listening socket) or udp (a bound, unconnected socket)" };
        var address = new Argument<string>("IP") { Description = "The address the socket is bound to, e.g. 127.0.0.1, 0.0.0.0 or ::" };
        var port = new Argument<string>("PORT") { Description = "The port the socket is bound to" };
        var dualStack = DualStackOption();
        var command = new Command("register-pid", "Take a socket from a running process (pidfd_getfd, Linux 5.6+) and register it for a label")
        {
            pids,
            label,
            protocol,
            address,
            port,
            dualStack,
        };
        command.HelpFooter("""
            Needs ptrace rights over the process (root, or CAP_SYS_PTRACE). The process keeps its socket and serves
            the label's traffic on it; nothing in it changes. With several pids (a server's master and workers),
            the first one that holds a socket bound to IP:PORT gives it: workers that inherited the master's
            socket hold the same one, and for a reuseport group one member is enough.
            Examples: sklookup register-pid 1234 web tcp 127.0.0.1 8080
                      sklookup register-pid "$(pidof nginx)" web tcp 127.0.0.1 8080
                      sklookup register-pid /run/nginx.pid web tcp 127.0.0.1 8080
            """);
        return command.Runs("register-pid", context =>
        {
            var processIds = ProcessIds.Parse(context.Get(pids));
            var name = Label.Validate(context.Get(label));
            var wantedProtocol = ProtocolNames.ParseProtocol(context.Get(protocol));
            var addressText = context.Get(address);
            if (!AddressText.TryParseAddress(addressText, out var ip, out var reason))
                throw new CliException(ExitCode.Usage, $"address '{TextEscape.Escape(addressText)}' is not valid: {reason}; pass the address the socket is bound to, e.g. 127.0.0.1 or ::");
            var wantedPort = SkLookup.Binding.ParsePort(context.Get(port));
            if (wantedPort == 0)
                throw new CliException(ExitCode.Usage, "a socket is bound to one port: pass 1 to 65535");
            var endPoint = new IPEndPoint(ip, wantedPort);

            var (processId, found) = FindInProcesses(processIds, wantedProtocol, endPoint);
            try
            {
                using var dispatcher = context.OpenDispatcher(write: true);
                // A process may hold sockets at the same address in several namespaces: take one in the
                // dispatcher's. Several matches there are members of one reuseport group, and the kernel
                // spreads traffic over the group from any member, so registering the first is enough. With
                // none there, the first match gives RegisterSocket's wrong-namespace error.
                var chosen = found.FirstOrDefault(socket => socket.Description.NetNsInode == dispatcher.NetworkNamespaceInode) ?? found[0];
                var status = dispatcher.RegisterSocket(name, chosen.Handle, context.Get(dualStack));
                context.Write(Registered(status, chosen.Description, processId, chosen.Fd), output =>
                    output.WriteLine($"registered fd {chosen.Fd} of process {processId} ({chosen.Description}) for '{status.Label}' {status.Family.Name()} {status.Protocol.Name()}"));
                return ExitCode.Ok;
            }
            finally
            {
                foreach (var socket in found)
                    socket.Dispose();
            }
        });
    }

    /// <summary>
    /// The sockets bound to <paramref name="endPoint"/> of the first of <paramref name="processIds"/> that has
    /// any. Processes that exited meanwhile are skipped; if none has the socket, the error names them all.
    /// </summary>
    private static (int ProcessId, IReadOnlyList<ProcessSocket> Sockets) FindInProcesses(IReadOnlyList<int> processIds, Protocol protocol, IPEndPoint endPoint)
    {
        BpfException? firstFailure = null;
        var gone = new List<int>();
        foreach (var processId in processIds)
        {
            IReadOnlyList<ProcessSocket> found;
            try
            {
                found = SocketFromProcess.Find(processId, socket => IsCandidate(socket, protocol, endPoint));
            }
            catch (BpfException exception) when (processIds.Count > 1 && exception.Reason == BpfErrorReason.NotFound)
            {
                gone.Add(processId);
                continue; // A worker that exited while we looked; another pid may hold the socket.
            }
            catch (BpfException exception) when (processIds.Count > 1 && exception.Reason == BpfErrorReason.PermissionDenied)
            {
                firstFailure ??= exception;
                continue;
            }
            if (found.Count > 0)
                return (processId, found);
        }
        if (firstFailure is not null)
            throw firstFailure;
        var what = protocol == Protocol.Tcp ? "listening TCP" : "unconnected UDP";
        var who = processIds.Count == 1 ? $"process {processIds[0]} has no" : $"none of processes {string.Join(", ", processIds)} has a";
        var exited = gone.Count == 0 ? "" : $" ({string.Join(", ", gone)} exited)";
        throw new CliException(ExitCode.NotFound,
            $"{who} {what} socket bound to {endPoint}{exited}; list the sockets with 'ss -lntup -p' in its namespace");
    }

    private static bool IsCandidate(SocketDescription socket, Protocol protocol, IPEndPoint endPoint)
    {
        if (socket.LocalEndPoint is not { } local || !local.Equals(endPoint))
            return false;
        return protocol == Protocol.Tcp
            ? socket.Type == SocketType.Stream && socket.Protocol == ProtocolType.Tcp && socket.IsListening
            : socket.Type == SocketType.Dgram && socket.Protocol == ProtocolType.Udp && !socket.IsConnected;
    }

    private static Command Unregister()
    {
        var label = new Argument<string>("LABEL") { Description = "The label" };
        var family = new Argument<string>("FAMILY") { Description = "ipv4 or ipv6" };
        var protocol = new Argument<string>("PROTO") { Description = "tcp or udp" };
        var command = new Command("unregister", "Remove the socket of a label for one family and protocol; its traffic is dropped again")
        {
            label,
            family,
            protocol,
        };
        command.HelpFooter("Example: sklookup unregister web ipv4 tcp");
        return command.Runs("unregister", context =>
        {
            var name = Label.Validate(context.Get(label));
            var wantedFamily = ProtocolNames.ParseFamily(context.Get(family));
            var wantedProtocol = ProtocolNames.ParseProtocol(context.Get(protocol));
            using var dispatcher = context.OpenDispatcher(write: true);
            if (!dispatcher.UnregisterSocket(name, wantedFamily, wantedProtocol))
                throw new CliException(ExitCode.NotFound,
                    $"'{name}' has no {wantedFamily.Name()} {wantedProtocol.Name()} socket registered; see 'sklookup status {name}'");
            context.Write(new JsonObject { ["label"] = name, ["family"] = wantedFamily.Name(), ["protocol"] = wantedProtocol.Name(), ["unregistered"] = true },
                output => output.WriteLine($"unregistered the {wantedFamily.Name()} {wantedProtocol.Name()} socket of '{name}'"));
            return ExitCode.Ok;
        });
    }

    private static JsonObject Registered(DestinationStatus status, SocketDescription socket, int? processId, int fd)
    {
        var json = JsonViews.Destination(status);
        json["socket"] = socket.ToString();
        json["fd"] = fd;
        if (processId is { } pid)
            json["pid"] = pid;
        return json;
    }
}
