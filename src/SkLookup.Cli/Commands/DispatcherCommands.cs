using System.CommandLine;
using System.Text.Json.Nodes;

namespace SkLookup.Cli.Commands;

/// <summary><c>sklookup load | unload | upgrade</c>: the dispatcher's life cycle in a namespace.</summary>
internal static class DispatcherCommands
{
    /// <summary>The three commands.</summary>
    public static IEnumerable<Command> Create() => [Load(), Unload(), Upgrade()];

    private static Command Load()
    {
        var group = new Option<string?>("--group")
        {
            Description = "The group whose members may register sockets and read the state (a name or a gid; default: sklookup if it exists, else root's)",
            HelpName = "GROUP",
        };
        var command = new Command("load", "Load the dispatcher into the namespace and pin its state (a second load changes nothing)") { group };
        command.HelpFooter("""
            Until a label has a socket, the traffic of its bindings is dropped, so it never leaks to another socket,
            unless the label is set to fall through to the normal lookup (sklookup label set LABEL --fall-through).
            Members of the group need no capability on Linux 6.5 and later, and CAP_BPF before.
            Example: sklookup load && sklookup bind web tcp 192.0.2.0/24 80
            """);
        return command.Runs("load", context =>
        {
            var bpffs = context.RequireBpfFs();
            using var netns = context.OpenNamespace();
            using var dispatcher = Dispatcher.Load(netns, bpffs, context.LockTimeout, context.Get(group));
            context.Write(new JsonObject
            {
                ["netns"] = dispatcher.NetworkNamespaceInode,
                ["statePath"] = dispatcher.StatePath,
                ["programId"] = dispatcher.Program.Id,
                ["programName"] = dispatcher.Program.Name,
                ["programTag"] = dispatcher.Program.Tag,
            }, output => output.WriteLine(
                $"dispatcher loaded in netns {dispatcher.NetworkNamespaceInode}: program {dispatcher.Program.Id} ({dispatcher.Program.Name}), state at {dispatcher.StatePath}"));
            return ExitCode.Ok;
        });
    }

    private static Command Unload()
    {
        var command = new Command("unload", "Detach the dispatcher and remove all its state from the namespace (fine if it is not loaded)");
        command.HelpFooter("Registered sockets stay open in their processes; only their registration goes.");
        return command.Runs("unload", context =>
        {
            var bpffs = context.RequireBpfFs();
            using var netns = context.OpenNamespace();
            Dispatcher.Unload(netns, bpffs, context.LockTimeout);
            context.Write(new JsonObject { ["netns"] = netns.Inode, ["unloaded"] = true },
                output => output.WriteLine($"dispatcher unloaded from netns {netns.Inode}"));
            return ExitCode.Ok;
        });
    }

    private static Command Upgrade()
    {
        var command = new Command("upgrade", "Bring a dispatcher loaded by another sklookup version up to this one, without dropping traffic");
        return command.Runs("upgrade", context =>
        {
            var bpffs = context.RequireBpfFs();
            using var netns = context.OpenNamespace();
            var result = Dispatcher.Upgrade(netns, bpffs, context.LockTimeout);
            context.Write(new JsonObject
            {
                ["netns"] = netns.Inode,
                ["from"] = result.FromVersion,
                ["to"] = result.ToVersion,
                ["mapsMigrated"] = result.MapsMigrated,
                ["wasCurrent"] = result.WasCurrent,
            }, output => output.WriteLine(result.WasCurrent
                ? $"the dispatcher in netns {netns.Inode} is current already ({result.ToVersion})"
                : $"upgraded the dispatcher in netns {netns.Inode} from {result.FromVersion} to {result.ToVersion}{(result.MapsMigrated ? " (maps migrated)" : "")}"));
            return ExitCode.Ok;
        });
    }
}
