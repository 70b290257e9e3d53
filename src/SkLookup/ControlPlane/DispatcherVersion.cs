namespace SkLookup;

/// <summary>Which version of SkLookup runs a loaded dispatcher, and whether this version must upgrade it before changing it.</summary>
/// <param name="Loaded">The version whose generator and map layout the loaded dispatcher has, e.g. "sk_dispatcher/5 (layout 1)", or "unknown version" without a record this version can read.</param>
/// <param name="Current">This version's, as <see cref="Dispatcher.CurrentVersion"/>.</param>
/// <param name="ProgramTag">The kernel's tag of the attached program.</param>
/// <param name="UpgradeDue">True if writes need <see cref="Dispatcher.Upgrade"/> first: the loaded maps or program are of another version.</param>
/// <param name="Reason">Why an upgrade is due, or null.</param>
public sealed record DispatcherVersion(string Loaded, string Current, string ProgramTag, bool UpgradeDue, string? Reason);
