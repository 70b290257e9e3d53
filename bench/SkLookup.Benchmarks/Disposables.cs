namespace SkLookup.Benchmarks;

/// <summary>Disposes what it holds in reverse order of adding, so dependants go before what they depend on.</summary>
internal sealed class Disposables : IDisposable
{
    private readonly List<IDisposable> _items = [];

    /// <summary>Takes ownership of <paramref name="item"/> and returns it.</summary>
    public T Add<T>(T item) where T : IDisposable
    {
        _items.Add(item);
        return item;
    }

    /// <summary>Runs <paramref name="action"/> on dispose.</summary>
    public void OnDispose(Action action) => _items.Add(new Callback(action));

    /// <summary>Forgets everything it holds: ownership has been handed on (the end of a build that succeeded).</summary>
    public void Clear() => _items.Clear();

    public void Dispose()
    {
        List<Exception>? failures = null;
        for (var i = _items.Count - 1; i >= 0; i--)
        {
            try
            {
                _items[i].Dispose();
            }
            catch (Exception exception)
            {
                (failures ??= []).Add(exception);
            }
        }
        _items.Clear();
        if (failures is not null)
            throw new AggregateException("cleaning up failed", failures);
    }

    private sealed class Callback(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
