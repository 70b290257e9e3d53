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
            Each socket serves its own family and protocol, replacing a socket registered before. Run it from a
            systemd .socket unit, e.g. ExecStartPost=, or by hand: systemd-socket-activate -l 80 sklookup register web
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
                using var dispatcher = context.OpenDispatcher(write: true);
                var registered = new List<(SystemdSocket Socket, DestinationStatus Status)>();
                foreach (var socket in passed)
                {
                    if (socket.Description is null)
                        throw new CliException(ExitCode.Usage, $"passed fd {socket.Fd} ({socket.Name}) is not a socket; pass only TCP and UDP sockets");
                    registered.Add((socket, dispatcher.RegisterSocket(name, socket.Handle, context.Get(dualStack))));
                }
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
        var pid = new Argument<int>("PID") { Description = "The process that holds the socket" };
        var label = new Argument<string>("LABEL") { Description = "The label whose traffic the socket receives" };
        var protocol = new Argument<string>("PROTO") { Description = "tcp (a listening socket) or udp (a bound, unconnected socket)" };
        var address = new Argument<string>("IP") { Description = "The address the socket is bound to, e.g. 127.0.0.1, 0.0.0.0 or ::" };
        var port = new Argument<string>("PORT") { Description = "The port the socket is bound to" };
        var dualStack = DualStackOption();
        var command = new Command("register-pid", "Take a socket from a running process (pidfd_getfd, Linux 5.6+) and register it for a label")
        {
            pid,
            label,
            protocol,
            address,
            port,
            dualStack,
        };
        command.HelpFooter("""
            Needs ptrace rights over the process (root, or CAP_SYS_PTRACE). The process keeps its socket and serves
            the label's traffic on it; nothing in it changes.
            Example: sklookup register-pid 1234 web tcp 127.0.0.1 8080
            """);
        return command.Runs("register-pid", context =>
        {
            var name = Label.Validate(context.Get(label));
            var wantedProtocol = ProtocolNames.ParseProtocol(context.Get(protocol));
            var addressText = context.Get(address);
            if (!AddressText.TryParseAddress(addressText, out var ip, out var reason))
                throw new CliException(ExitCode.Usage, $"address '{TextEscape.Escape(addressText)}' is not valid: {reason}; pass the address the socket is bound to, e.g. 127.0.0.1 or ::");
            var wantedPort = SkLookup.Binding.ParsePort(context.Get(port));
            if (wantedPort == 0)
                throw new CliException(ExitCode.Usage, "a socket is bound to one port: pass 1 to 65535");
            var processId = context.Get(pid);
            if (processId <= 0)
                throw new CliException(ExitCode.Usage, $"{processId} is not a process id");
            var endPoint = new IPEndPoint(ip, wantedPort);

            var found = SocketFromProcess.Find(processId, socket => IsCandidate(socket, wantedProtocol, endPoint));
            try
            {
                if (found.Count == 0)
                    throw new CliException(ExitCode.NotFound,
                        $"process {processId} has no {(wantedProtocol == Protocol.Tcp ? "listening TCP" : "unconnected UDP")} socket bound to {endPoint}; list its sockets with 'ss -lntup -p' in its namespace");
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
