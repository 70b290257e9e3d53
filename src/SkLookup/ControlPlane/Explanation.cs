using System.Net;
using System.Text;

namespace SkLookup;

/// <summary>Where a packet would go, and why: the result of <see cref="Explainer.Explain"/>.</summary>
/// <param name="Protocol">The packet's protocol.</param>
/// <param name="Destination">Its destination address and port.</param>
/// <param name="Source">Its source address and port (the programs may look at it).</param>
/// <param name="Programs">Each attached sk_lookup program in run order, with what it did.</param>
/// <param name="Binding">The binding of the dispatcher that matches, or null (none matches, or no dispatcher is loaded).</param>
/// <param name="DestinationId">The destination that binding sends to.</param>
/// <param name="RegisteredSocketCookie">The cookie of the socket registered for that destination, or null.</param>
/// <param name="Verdict">What the lookup does in the end.</param>
/// <param name="DeliveredSocketCookie">The cookie of the socket that receives the packet, when <see cref="Verdict"/> is <see cref="ExplainVerdict.Delivered"/>.</param>
/// <param name="SocketOwner">The process holding that socket ("pid 123 (nginx) fd 7"), when one could be found.</param>
public sealed record Explanation(
    Protocol Protocol,
    IPEndPoint Destination,
    IPEndPoint Source,
    IReadOnlyList<ProgramVerdict> Programs,
    Binding? Binding,
    uint? DestinationId,
    ulong? RegisteredSocketCookie,
    ExplainVerdict Verdict,
    ulong? DeliveredSocketCookie,
    string? SocketOwner)
{
    /// <summary>A few lines for people: the packet, each program, the binding, and the outcome.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append($"{Protocol.Name()} {Source} -> {Destination}").AppendLine();
        if (Programs.Count == 0)
            text.AppendLine("  no sk_lookup program is attached in this namespace");
        foreach (var program in Programs)
            text.Append("  ").Append(program).AppendLine();
        if (Binding is not null)
        {
            text.Append($"  binding: {Binding} (destination {DestinationId}, ");
            text.Append(RegisteredSocketCookie is { } cookie ? $"socket cookie {cookie})" : "no socket registered)").AppendLine();
        }
        else
        {
            text.AppendLine("  binding: none matches");
        }
        text.Append("  verdict: ").Append(Verdict switch
        {
            ExplainVerdict.Delivered => $"delivered to socket cookie {DeliveredSocketCookie}{(SocketOwner is null ? "" : $", held by {SocketOwner}")}",
            ExplainVerdict.Dropped => $"dropped ({(Protocol == Protocol.Tcp ? "the client gets a RST" : "the client gets ICMP port unreachable")})",
            _ => "the normal socket lookup decides",
        });
        return text.ToString();
    }
}
