namespace SkLookup.Bpf;

/// <summary>The verifier rejected a program. <see cref="Log"/> holds its whole log.</summary>
public sealed class BpfVerifierException : BpfException
{
    /// <summary>Creates the exception; the message ends with the log's last lines.</summary>
    public BpfVerifierException(string programName, int errno, string log)
        : base(Describe(programName, errno, log), errno, BpfErrorReason.VerifierRejected)
    {
        ProgramName = programName;
        Log = log;
    }

    /// <summary>The name of the program that was rejected.</summary>
    public string ProgramName { get; }

    /// <summary>The verifier's whole log.</summary>
    public string Log { get; }

    private static string Describe(string programName, int errno, string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var tail = string.Join(" | ", lines.Skip(Math.Max(0, lines.Length - 3)));
        return $"load program '{programName}': verifier rejected it ({SkLookup.Bpf.Errno.Name(errno)})" +
               (tail.Length > 0 ? $": {tail}" : "");
    }
}
