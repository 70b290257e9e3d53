using System.Diagnostics;
using System.Globalization;

namespace SkLookup.Cli;

/// <summary>
/// What a long command is doing, on one line of stderr that rewrites itself, shown only when stderr is a
/// terminal and only once the command has run for <see cref="Delay"/>: a quick command prints nothing extra,
/// and a script that captures stderr never sees it. The line is erased before anything else is printed.
/// </summary>
internal sealed class Progress : IDisposable
{
    /// <summary>How long a command runs before its progress shows.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(200);

    private readonly TextWriter? _error;
    private readonly string _command;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Timer? _timer;
    private readonly Lock _lock = new();
    private string _phase = "";
    private Func<string>? _detail;
    private bool _shown;
    private bool _disposed;

    /// <summary>Reports for <paramref name="command"/> on <paramref name="error"/> if <paramref name="enabled"/>; otherwise does nothing.</summary>
    public Progress(TextWriter error, string command, bool enabled)
    {
        _command = command;
        if (!enabled)
            return;
        _error = error;
        _timer = new Timer(_ => Show(), null, Delay, s_interval);
    }

    /// <summary>Starts a phase, e.g. "reading bindings.json"; <paramref name="detail"/> says how far it is (read on each refresh).</summary>
    public void Phase(string phase, Func<string>? detail = null)
    {
        lock (_lock)
        {
            _phase = phase;
            _detail = detail;
        }
    }

    /// <summary>Erases the line, so that the command's own output starts on a clean line.</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        lock (_lock)
        {
            _disposed = true;
            if (_shown)
                _error!.Write("\r\u001b[K");
            _error?.Flush();
        }
    }

    private void Show()
    {
        lock (_lock)
        {
            if (_disposed || _phase.Length == 0)
                return;
            var detail = _detail?.Invoke();
            var seconds = _clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
            _error!.Write($"\r\u001b[Ksklookup: {_command}: {_phase}{(detail is null ? "" : $" ({detail})")}... {seconds} s");
            _error.Flush();
            _shown = true;
        }
    }
}
