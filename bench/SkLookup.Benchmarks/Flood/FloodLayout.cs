namespace SkLookup.Benchmarks.Flood;

/// <summary>Where the flood's work runs.</summary>
internal enum FloodLayout
{
    /// <summary>
    /// The series' layout: the sender on one CPU, the receive path on another (RPS). Gives rx pps; the
    /// receive path's CPU time is estimated from <c>/proc/stat</c>.
    /// </summary>
    TwoCpus,

    /// <summary>
    /// No RPS: the veth delivers each packet in the sender thread's own context, so the sender thread's
    /// exact CPU time covers send and receive. Gives CPU ns per packet that other work on the machine
    /// does not disturb (it takes CPU away, but is not counted).
    /// </summary>
    OneCpu,
}
