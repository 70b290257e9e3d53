using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SkLookup.Hosting.Tests;

/// <summary>Keeps every log line, so tests can check what the service said it did.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Lines => [.. _lines];

    /// <summary>The messages of the sk_lookup service.</summary>
    public IReadOnlyList<string> SkLookup(LogLevel level) =>
        [.. _lines.Where(line => line.Level == level && line.Message.StartsWith("sk_lookup:", StringComparison.Ordinal)).Select(line => line.Message)];

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(ListLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider._lines.Enqueue((logLevel, formatter(state, exception)));
    }
}
