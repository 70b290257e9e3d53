namespace SkLookup.State;

/// <summary>Which command a write in progress belongs to (<see cref="DispatcherMeta.Kind"/>), for the line that says it was interrupted.</summary>
internal enum WriteKind : byte
{
    /// <summary>None recorded (an older version's mark).</summary>
    None = 0,

    /// <summary>Adding one binding.</summary>
    Bind = 1,

    /// <summary>Removing one binding.</summary>
    Unbind = 2,

    /// <summary>Moving one binding to another label.</summary>
    Move = 3,

    /// <summary>Replacing the binding set (apply, and the rebuild of a recovery).</summary>
    Apply = 4,

    /// <summary>Registering one socket.</summary>
    Register = 5,

    /// <summary>Registering several sockets (two families, or several passed sockets): it can be interrupted half-way.</summary>
    RegisterSeveral = 8,

    /// <summary>Removing a socket.</summary>
    Unregister = 6,

    /// <summary>Setting label options.</summary>
    Label = 7,

    /// <summary>Building the binding summary from the binding maps (a state an older version wrote).</summary>
    Summary = 9,
}
