namespace SkLookup;

/// <summary>What the socket lookup does with a packet after every sk_lookup program has run.</summary>
public enum ExplainVerdict
{
    /// <summary>A program selected a socket and passed: that socket receives the packet.</summary>
    Delivered,
    /// <summary>No program selected a socket and one dropped: TCP answers with a RST, UDP with ICMP port unreachable.</summary>
    Dropped,
    /// <summary>No program selected a socket or dropped: the normal socket lookup goes on.</summary>
    NormalLookup,
}
