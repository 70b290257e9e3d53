namespace SkLookup;

/// <summary>What <see cref="Dispatcher.Upgrade"/> did.</summary>
/// <param name="FromVersion">The version that had built the state, e.g. "sk_dispatcher/1 (layout 1)".</param>
/// <param name="ToVersion">This version.</param>
/// <param name="MapsMigrated">True if the maps were rebuilt in this version's layout (their entries copied).</param>
public sealed record UpgradeResult(string FromVersion, string ToVersion, bool MapsMigrated)
{
    /// <summary>True if the state was this version's already, and nothing changed.</summary>
    public bool WasCurrent => FromVersion == ToVersion && !MapsMigrated;
}
