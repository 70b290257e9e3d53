namespace SkLookup.Hosting;

/// <summary>What the hosted service did at start, for the health check: the labels whose sockets it registered, or why it failed.</summary>
internal sealed class SkLookupState
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _labels = new(StringComparer.Ordinal);
    private StartFailure? _failure;

    /// <summary>Why the start failed, or null.</summary>
    public StartFailure? Failure
    {
        get
        {
            lock (_lock)
                return _failure;
        }
        set
        {
            lock (_lock)
                _failure = value;
        }
    }

    /// <summary>The labels this app registered sockets for, or owns by configuration.</summary>
    public IReadOnlyList<string> Labels()
    {
        lock (_lock)
            return [.. _labels.Order(StringComparer.Ordinal)];
    }

    /// <summary>Adds labels of this app.</summary>
    public void AddLabels(IEnumerable<string> labels)
    {
        lock (_lock)
            _labels.UnionWith(labels);
    }
}
