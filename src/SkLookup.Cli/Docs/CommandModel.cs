using System.CommandLine;

namespace SkLookup.Cli.Docs;

/// <summary>
/// The command tree as the completions and the man page see it: every visible command with its path,
/// arguments and options (the recursive global options included), read from the same
/// <see cref="Command"/> objects that <c>--help</c> prints, so the three can never disagree.
/// </summary>
internal sealed record CommandModel(string Path, Command Command, IReadOnlyList<Option> Options, IReadOnlyList<CommandModel> Subcommands)
{
    /// <summary>The model of <paramref name="root"/> and everything below it.</summary>
    public static CommandModel Of(Command root) => Of(root, root.Name, []);

    private static CommandModel Of(Command command, string path, IReadOnlyList<Option> inherited)
    {
        var options = new List<Option>(inherited);
        foreach (var option in command.Options)
            if (!option.Hidden && !options.Contains(option))
                options.Add(option);
        var passedOn = options.Where(option => option.Recursive).ToList();
        var subcommands = command.Subcommands.Where(sub => !sub.Hidden)
            .Select(sub => Of(sub, $"{path} {sub.Name}", passedOn))
            .ToList();
        return new CommandModel(path, command, options, subcommands);
    }

    /// <summary>This command and every command below it, depth first.</summary>
    public IEnumerable<CommandModel> All()
    {
        yield return this;
        foreach (var sub in Subcommands)
            foreach (var model in sub.All())
                yield return model;
    }

    /// <summary>The command's words after the root, e.g. "prog load".</summary>
    public string Words => Path.Contains(' ') ? Path[(Path.IndexOf(' ') + 1)..] : "";

    /// <summary>Every name an option answers to, e.g. "--help", "-h", "-?".</summary>
    public static IEnumerable<string> Names(Option option) =>
        new[] { option.Name }.Concat(option.Aliases.Where(alias => !alias.StartsWith('/'))); // "/?" and "/h" are for other platforms' habits.

    /// <summary>True if the option takes a value; a bool option is a flag (its optional "true"/"false" is never needed).</summary>
    public static bool TakesValue(Option option) => option.ValueType != typeof(bool) && option.Arity.MaximumNumberOfValues > 0;

    /// <summary>The usage line: "sklookup bind LABEL PROTO PREFIX PORT [options]".</summary>
    public string Usage
    {
        get
        {
            var words = new List<string> { Path };
            foreach (var argument in Command.Arguments.Where(a => !a.Hidden))
                words.Add(argument.Arity.MinimumNumberOfValues == 0 ? $"[{argument.Name}]" : argument.Name);
            if (Subcommands.Count > 0)
                words.Add("COMMAND");
            if (Options.Count > 0)
                words.Add("[options]");
            return string.Join(' ', words);
        }
    }

    /// <summary>The values an argument takes, when they are a closed set (protocols, families), for completion.</summary>
    public static IReadOnlyList<string> KnownValues(Argument argument) => argument.Name switch
    {
        "PROTO" => ["tcp", "udp"],
        "FAMILY" => ["ipv4", "ipv6"],
        "SHELL" => ["bash", "zsh"],
        _ => [],
    };
}
