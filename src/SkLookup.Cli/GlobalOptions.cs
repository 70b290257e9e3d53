using System.CommandLine;
using SkLookup.Bpf;

namespace SkLookup.Cli;

/// <summary>The options every command takes.</summary>
internal static class GlobalOptions
{
    /// <summary>The network namespace to act in; the tool's own by default.</summary>
    public static readonly Option<string?> NetNs = new("--netns")
    {
        Description = "The network namespace to act in, as a path (/proc/PID/ns/net, /run/netns/NAME). Default: the current one",
        HelpName = "PATH",
        Recursive = true,
    };

    /// <summary>Where bpffs is mounted; the state lives in a per-namespace directory below it.</summary>
    public static readonly Option<string> BpfFs = new("--bpffs")
    {
        Description = "Where bpffs is mounted; the state is pinned in a directory per namespace below it",
        HelpName = "PATH",
        DefaultValueFactory = _ => BpfFileSystem.DefaultPath,
        Recursive = true,
    };

    /// <summary>How long to wait for another command's lock on the state.</summary>
    public static readonly Option<double?> LockTimeout = new("--lock-timeout")
    {
        Description = "How long to wait for another sklookup command's lock on the state, in seconds (0: do not wait). Default: 5",
        HelpName = "SECONDS",
        Recursive = true,
    };

    /// <summary>Machine-readable output (and errors) as JSON.</summary>
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the output (and errors, on stderr) as JSON",
        Recursive = true,
    };
}
