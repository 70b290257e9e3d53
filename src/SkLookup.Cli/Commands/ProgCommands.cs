using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SkLookup.Bpf;

namespace SkLookup.Cli.Commands;

/// <summary>
/// <c>sklookup prog ...</c>: every sk_lookup program in the namespace, sklookup's dispatcher or not.
/// These need only SkLookup.Bpf, and the dispatcher's name to protect it.
/// </summary>
internal static class ProgCommands
{
    /// <summary>The <c>prog</c> command and its subcommands.</summary>
    public static Command Create()
    {
        var prog = new Command("prog", "Load, list, attach and detach sk_lookup programs in the namespace (any program, not only sklookup's)")
        {
            Load(),
            List(),
            Attach(),
            Detach(),
        };
        return prog;
    }

    private static Command Load()
    {
        var file = new Argument<string>("FILE.o") { Description = "A BPF ELF object built by clang (-target bpf), e.g. with SEC(\"sk_lookup\") programs" };
        var program = new Option<string?>("--program") { Description = "Load only this program (its function name). Default: every program in the object", HelpName = "NAME" };
        var pin = new Option<string?>("--pin")
        {
            Description = "The bpffs directory to pin the programs (DIR/NAME) and the maps pinned by name in. Default: BPFFS/OBJECT, e.g. /sys/fs/bpf/redirect for redirect.o",
            HelpName = "DIR",
        };
        var command = new Command("load", "Load the programs of a clang-built BPF object and pin them, ready for 'prog attach'") { file, program, pin };
        command.HelpFooter("""
            Maps declared with LIBBPF_PIN_BY_NAME are pinned in (or reused from) the same directory; other maps live
            as long as the programs that use them. CO-RE relocations and kfuncs are not supported.
            Example: sklookup prog load redirect.o --program redirect && sklookup prog attach /sys/fs/bpf/redirect/redirect
            """);
        return command.Runs("prog load", context =>
        {
            var path = context.Get(file);
            if (!File.Exists(path))
                throw new CliException(ExitCode.Usage, $"{path} does not exist; pass the path of a BPF object file built with clang -target bpf");
            var spec = ElfReader.Read(path);
            var only = context.Get(program);
            if (only is not null && !spec.Programs.ContainsKey(only))
                throw new CliException(ExitCode.NotFound, $"{path} has no program '{only}'; it has: {string.Join(", ", spec.Programs.Keys)}");
            if (spec.Programs.Count == 0)
                throw new CliException(ExitCode.Usage, $"{path} has no programs; mark functions with SEC(\"sk_lookup\")");
            var directory = context.Get(pin) ?? Path.Combine(context.RequireBpfFs(), PinName(Path.GetFileNameWithoutExtension(path)));
            var names = only is null ? spec.Programs.Keys.ToList() : [only];
            foreach (var name in names)
            {
                var target = Path.Combine(directory, name);
                if (File.Exists(target))
                    throw new CliException(ExitCode.Conflict, $"{target} exists already; remove it, or pass another --pin directory");
            }
            var createdDirectory = !Directory.Exists(directory);
            Directory.CreateDirectory(directory);
            if (!BpfFileSystem.IsBpfFs(directory))
            {
                if (createdDirectory)
                    Directory.Delete(directory);
                throw new CliException(ExitCode.Usage, $"--pin {directory} is not on bpffs; pass a directory below a bpffs mount such as /sys/fs/bpf");
            }
            BpfCollection collection;
            try
            {
                // All or nothing: on failure the collection removes what it pinned (programs, maps pinned by name).
                collection = BpfCollection.LoadAndPin(spec, new CollectionOptions { PinRoot = directory, ProgramNames = names });
            }
            catch
            {
                if (createdDirectory && !Directory.EnumerateFileSystemEntries(directory).Any())
                    Directory.Delete(directory);
                throw;
            }
            using (collection)
            {
                var loaded = names.Select(name => (Name: name, collection.Programs[name].Info, Pin: Path.Combine(directory, name))).ToList();
                context.Write(new JsonObject
                {
                    ["object"] = path,
                    ["pinDirectory"] = directory,
                    ["programs"] = JsonArrays.From(loaded, item => new JsonObject
                    {
                        ["name"] = item.Name,
                        ["id"] = item.Info.Id,
                        ["type"] = item.Info.Type.ToString(),
                        ["tag"] = item.Info.Tag,
                        ["pin"] = item.Pin,
                    }),
                }, output =>
                {
                    var table = new TextTable("program", "id", "type", "tag", "pinned at");
                    foreach (var (name, info, target) in loaded)
                        table.Add(name, Number(info.Id), info.Type.ToString(), info.Tag, target);
                    table.Write(output);
                });
            }
            return ExitCode.Ok;
        });
    }

    /// <summary>bpffs refuses names with dots, so "my.prog" becomes "my_prog".</summary>
    private static string PinName(string name) => name.Replace('.', '_');

    private static Command List()
    {
        var command = new Command("list", "List every sk_lookup program attached to the namespace, in the order the kernel runs them");
        return command.Runs("prog list", context =>
        {
            using var netns = context.OpenNamespace();
            var programs = ListAttached(netns);
            var statsEnabled = BpfStatsEnabled();
            var json = JsonArrays.From(programs, program => new JsonObject
            {
                ["order"] = program.Order,
                ["id"] = program.Info.Id,
                ["name"] = program.Info.Name,
                ["tag"] = program.Info.Tag,
                ["linkId"] = program.LinkId,
                ["runCount"] = program.Info.RunCount,
                ["runTimeNs"] = program.Info.RunTimeNs,
            });
            var table = new TextTable("order", "id", "name", "tag", "link", "runs", "run time");
            foreach (var program in programs)
            {
                table.Add(Number(program.Order), Number(program.Info.Id), program.Info.Name, program.Info.Tag,
                    program.LinkId is { } link ? Number(link) : "-",
                    statsEnabled ? Number(program.Info.RunCount) : "-",
                    statsEnabled ? Duration(program.Info.RunTimeNs) : "-");
            }
            context.Write(new JsonObject { ["netns"] = netns.Inode, ["statsEnabled"] = statsEnabled, ["programs"] = json }, output =>
            {
                if (table.Count == 0)
                {
                    output.WriteLine($"no sk_lookup program is attached to netns {netns.Inode}");
                    return;
                }
                table.Write(output);
                if (!statsEnabled)
                    output.WriteLine("(run counts and times are counted only while kernel.bpf_stats_enabled=1)");
            });
            return ExitCode.Ok;
        });
    }

    private static Command Attach()
    {
        var pin = new Argument<string>("PIN") { Description = "The bpffs path of a pinned sk_lookup program" };
        var linkPin = new Option<string?>("--link-pin")
        {
            Description = "Where to pin the link that keeps the program attached. Default: PIN_link",
            HelpName = "PATH",
        };
        var command = new Command("attach", "Attach a pinned sk_lookup program to the namespace; it runs after the programs attached before it") { pin, linkPin };
        command.HelpFooter("""
            The link is pinned, so the program stays attached after sklookup exits; 'sklookup prog detach PIN' undoes it.
            Example: sklookup prog attach /sys/fs/bpf/my_prog
            """);
        return command.Runs("prog attach", context =>
        {
            var programPath = context.Get(pin);
            var linkPath = context.Get(linkPin) ?? programPath + "_link";
            using var netns = context.OpenNamespace();
            using var program = PinnedObject.OpenProgram(programPath);
            if (program.Info.Type != ProgramType.SkLookup)
                throw new CliException(ExitCode.Usage, $"{programPath} is a {program.Info.Type} program, not sk_lookup; load it as BPF_PROG_TYPE_SK_LOOKUP with expected attach type BPF_SK_LOOKUP");
            if (File.Exists(linkPath))
                throw new CliException(ExitCode.Conflict, $"{linkPath} exists already; pass another --link-pin, or detach first");
            // The link's fd is its only reference until the pin: if pinning fails, disposing it detaches again.
            using var link = NetNsLink.Attach(program, netns);
            link.Pin(linkPath);
            var info = link.ReadInfo();
            context.Write(new JsonObject
            {
                ["netns"] = netns.Inode,
                ["programId"] = program.Info.Id,
                ["programName"] = program.Info.Name,
                ["linkId"] = info.Id,
                ["linkPin"] = linkPath,
            }, output => output.WriteLine($"attached program {program.Info.Id} ({program.Info.Name}) to netns {netns.Inode}: link {info.Id} pinned at {linkPath}"));
            return ExitCode.Ok;
        });
    }

    private static Command Detach()
    {
        var target = new Argument<string>("ID-or-PIN") { Description = "A program id (as 'prog list' shows it), or the bpffs path of a pinned link or program" };
        var force = new Option<bool>("--force") { Description = "Detach even sklookup's own dispatcher (prefer 'sklookup unload')" };
        var command = new Command("detach", "Detach an sk_lookup program from the namespace") { target, force };
        command.HelpFooter("""
            With a program id or a program's pin, every link that attaches that program to the namespace is detached.
            With a link's pin, that link is detached. Pins of the detached links are removed.
            Examples: sklookup prog detach 42
                      sklookup prog detach /sys/fs/bpf/my_prog
            """);
        return command.Runs("prog detach", context =>
        {
            var what = context.Get(target);
            using var netns = context.OpenNamespace();
            var detached = new List<LinkInfo>();
            var removedPins = new List<string>();
            if (uint.TryParse(what, NumberStyles.None, CultureInfo.InvariantCulture, out var programId))
            {
                detached.AddRange(DetachProgram(netns, programId, context.Get(force)));
            }
            else
            {
                switch (PinnedObject.KindOf(what))
                {
                    case PinnedKind.Link:
                        using (var link = NetNsLink.OpenPinned(what))
                        {
                            var info = link.ReadInfo();
                            if (info.NetNsInode != netns.Inode)
                                throw new CliException(ExitCode.NotFound, info.NetNsInode == 0
                                    ? $"link {info.Id} at {what} is detached already; remove the pin with rm {what}"
                                    : $"link {info.Id} at {what} is attached to netns {info.NetNsInode}, not {netns.Inode}; pass that namespace with --netns");
                            RefuseDispatcher(info.ProgramId, context.Get(force));
                            link.Detach();
                            detached.Add(info);
                        }
                        File.Delete(what);
                        removedPins.Add(what);
                        break;
                    case PinnedKind.Program:
                        using (var program = PinnedObject.OpenProgram(what))
                            detached.AddRange(DetachProgram(netns, program.Info.Id, context.Get(force)));
                        // 'prog attach PIN' pinned its link at PIN_link: remove it along with the attachment.
                        var conventional = what + "_link";
                        if (File.Exists(conventional) && PinnedObject.KindOf(conventional) == PinnedKind.Link && IsDetached(conventional))
                        {
                            File.Delete(conventional);
                            removedPins.Add(conventional);
                        }
                        break;
                    default:
                        throw new CliException(ExitCode.Usage, $"{what} holds a {PinnedObject.Describe(PinnedObject.KindOf(what))}; pass a program id, or the pin of a link or program");
                }
            }
            var json = JsonArrays.From(detached, link => new JsonObject { ["linkId"] = link.Id, ["programId"] = link.ProgramId });
            var pins = JsonArrays.From(removedPins, pinPath => (JsonNode)pinPath);
            context.Write(new JsonObject { ["netns"] = netns.Inode, ["detached"] = json, ["removedPins"] = pins }, output =>
            {
                foreach (var link in detached)
                    output.WriteLine($"detached link {link.Id} (program {link.ProgramId}) from netns {netns.Inode}");
                foreach (var pinPath in removedPins)
                    output.WriteLine($"removed pin {pinPath}");
            });
            return ExitCode.Ok;
        });
    }

    private static List<LinkInfo> DetachProgram(NetworkNamespace netns, uint programId, bool force)
    {
        var links = new List<LinkInfo>();
        foreach (var info in NetNsLinks.AttachedTo(netns))
            if (info.ProgramId == programId)
                links.Add(info);
        if (links.Count == 0)
            throw new CliException(ExitCode.NotFound, $"program {programId} is not attached to netns {netns.Inode}; see 'sklookup prog list'");
        RefuseDispatcher(programId, force);
        foreach (var info in links)
        {
            using var link = NetNsLink.OpenById(info.Id);
            link.Detach();
        }
        return links;
    }

    private static void RefuseDispatcher(uint programId, bool force)
    {
        if (force)
            return;
        using var program = BpfProgram.OpenById(programId);
        // Detaching the steering layer's own dispatcher needs --force.
        if (program.Info.Name == Dispatcher.ProgramName)
            throw new CliException(ExitCode.Usage, $"program {programId} is sklookup's dispatcher; use 'sklookup unload' to remove it with its state, or pass --force");
    }

    private static bool IsDetached(string linkPin)
    {
        using var link = NetNsLink.OpenPinned(linkPin);
        return link.ReadInfo().NetNsInode == 0;
    }

    /// <summary>One attached program, in the kernel's run order.</summary>
    private sealed record AttachedProgram(int Order, ProgramInfo Info, uint? LinkId);

    private static List<AttachedProgram> ListAttached(NetworkNamespace netns)
    {
        var ids = netns.QueryPrograms();
        var links = new List<LinkInfo>(NetNsLinks.AttachedTo(netns));
        var result = new List<AttachedProgram>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            ProgramInfo info;
            try
            {
                using var program = BpfProgram.OpenById(ids[i]);
                info = program.Info;
            }
            catch (BpfException exception) when (exception.Reason == BpfErrorReason.NotFound)
            {
                continue; // Detached and freed between the query and the open.
            }
            // A program attached twice has two links: hand them out in order.
            uint? linkId = null;
            var index = links.FindIndex(link => link.ProgramId == ids[i]);
            if (index >= 0)
            {
                linkId = links[index].Id;
                links.RemoveAt(index);
            }
            result.Add(new AttachedProgram(i + 1, info, linkId));
        }
        return result;
    }

    private static bool BpfStatsEnabled()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/bpf_stats_enabled").Trim() == "1";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Duration(ulong nanoseconds) => nanoseconds < 10_000
        ? string.Create(CultureInfo.InvariantCulture, $"{nanoseconds} ns")
        : nanoseconds < 10_000_000
            ? string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1000} us")
            : string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1_000_000} ms");
}
