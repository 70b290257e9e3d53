namespace SkLookup.Bpf;

/// <summary>
/// An ELF object could not be read: it is malformed (<see cref="BpfErrorReason.InvalidArgument"/>), or it uses
/// something this loader does not do, such as CO-RE relocations or kfuncs (<see cref="BpfErrorReason.NotSupported"/>).
/// The message names the object, and the section and symbol where they are known.
/// </summary>
public sealed class BpfObjectException : BpfException
{
    /// <summary>Creates the exception; <paramref name="problem"/> says what is wrong and, where it helps, what to do.</summary>
    public BpfObjectException(string objectName, string? section, string? symbol, string problem, BpfErrorReason reason)
        : base(Describe(objectName, section, symbol, problem), 0, reason)
    {
        ObjectName = objectName;
        Section = section;
        Symbol = symbol;
    }

    /// <summary>The object's name, usually its file name.</summary>
    public string ObjectName { get; }

    /// <summary>The ELF section at fault, if one is.</summary>
    public string? Section { get; }

    /// <summary>The symbol (program, function, map or variable) at fault, if one is.</summary>
    public string? Symbol { get; }

    private static string Describe(string objectName, string? section, string? symbol, string problem)
    {
        // "object X: section S, symbol F: problem", leaving out what is not known.
        var where = (section, symbol) switch
        {
            (not null, not null) => $": section {section}, symbol {symbol}",
            (not null, null) => $": section {section}",
            (null, not null) => $": symbol {symbol}",
            _ => "",
        };
        return $"object {objectName}{where}: {problem}";
    }
}
