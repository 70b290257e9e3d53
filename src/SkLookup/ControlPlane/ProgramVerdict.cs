using SkLookup.Bpf.Asm;

namespace SkLookup;

/// <summary>What one attached sk_lookup program did with the packet in a test run.</summary>
/// <param name="ProgramId">The program's kernel id.</param>
/// <param name="Name">The program's name.</param>
/// <param name="IsDispatcher">True for the dispatcher that this state manages.</param>
/// <param name="Verdict">Pass or drop; null if the program could not be test-run.</param>
/// <param name="SelectedSocketCookie">The cookie of the socket it selected, or 0 for none.</param>
/// <param name="Note">Why the result is approximate or missing, if it is.</param>
public sealed record ProgramVerdict(uint ProgramId, string Name, bool IsDispatcher, SkAction? Verdict, ulong SelectedSocketCookie, string? Note)
{
    /// <inheritdoc />
    public override string ToString()
    {
        var verdict = Verdict switch { SkAction.Pass => "pass", SkAction.Drop => "drop", null => "not run", var other => other.ToString() };
        var selected = SelectedSocketCookie != 0 ? $", selected socket cookie {SelectedSocketCookie}" : "";
        return $"program {ProgramId} '{Name}'{(IsDispatcher ? " (dispatcher)" : "")}: {verdict}{selected}{(Note is null ? "" : $" ({Note})")}";
    }
}
