namespace SkLookup.State;

/// <summary>What a reader finds staged in a state directory (<see cref="StatePaths.StagedSuffix"/> pins) that a crashed writer left.</summary>
internal enum StagedSwap
{
    /// <summary>Nothing staged.</summary>
    None,

    /// <summary>Staged pins of a swap that never happened (the link does not run the staged program): the pins in place are the truth.</summary>
    NeverHappened,

    /// <summary>Staged pins of a swap that happened (the link runs the staged program): the staged maps are the truth.</summary>
    Happened,

    /// <summary>Staged pins, seen by a process that may not open the link, so cannot tell whether the swap happened.</summary>
    Unknown,
}
