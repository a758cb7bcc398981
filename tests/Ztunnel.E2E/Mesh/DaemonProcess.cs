using System.Diagnostics;
using System.Text;

namespace Ztunnel.E2E.Mesh;

/// <summary>
/// One real <c>ztunnel run</c> process in a node's network namespace (<c>ip netns exec</c>, which execs the
/// daemon in place, so the process id is the daemon's). Its log (stderr and stdout) is collected line by
/// line so tests can wait for what the daemon says ("ztunnel ready", a reload, a deny) instead of sleeping.
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private static readonly TimeSpan StopGuard = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<Waiter> _waiters = [];
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;

    private DaemonProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int ProcessId => _process.Id;

    /// <summary>How many log lines the daemon wrote so far: a mark to wait for lines written after it.</summary>
    public int LineCount
    {
        get
        {
            lock (_lock)
            {
                return _lines.Count;
            }
        }
    }

    /// <summary>The whole log so far.</summary>
    public string Log
    {
        get
        {
            lock (_lock)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>The log lines from index <paramref name="from"/> on.</summary>
    public IReadOnlyList<string> LinesSince(int from)
    {
        lock (_lock)
        {
            return _lines.GetRange(from, _lines.Count - from);
        }
    }

    /// <summary>Starts <c>BINARY run --config CONFIG [ARGS]</c> in <paramref name="node"/> and waits for "ztunnel ready".</summary>
    public static async Task<DaemonProcess> StartAsync(string name, TestNamespace node, string configPath, params string[] arguments)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["netns", "exec", node.Name, ZtunnelBinary.Path, "run", "--config", configPath, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        var daemon = new DaemonProcess(name, new Process { StartInfo = start, EnableRaisingEvents = true });
        daemon._process.OutputDataReceived += (_, e) => daemon.OnLine(e.Data);
        daemon._process.ErrorDataReceived += (_, e) => daemon.OnLine(e.Data);
        daemon._process.Start();
        daemon._process.BeginOutputReadLine();
        daemon._process.BeginErrorReadLine();
        try
        {
            await daemon.WaitForLogAsync("ztunnel ready", from: 0);
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits for a log line at index <paramref name="from"/> or later that contains <paramref name="text"/>.
    /// Throws with the log when the daemon exits first or nothing comes within the guard time.
    /// </summary>
    public async Task<string> WaitForLogAsync(string text, int from, TimeSpan? timeout = null) =>
        await WaitForLogAsync(text, from, count: 1, timeout);

    /// <summary>
    /// Waits until <paramref name="count"/> log lines at index <paramref name="from"/> or later contain
    /// <paramref name="text"/>; returns the last of them.
    /// </summary>
    public async Task<string> WaitForLogAsync(string text, int from, int count, TimeSpan? timeout = null)
    {
        var waiter = new Waiter(text, from, count);
        lock (_lock)
        {
            for (int i = from; i < _lines.Count; i++)
            {
                if (_lines[i].Contains(text, StringComparison.Ordinal) && --waiter.Remaining == 0)
                {
                    return _lines[i];
                }
            }
            if (_openStreams == 0)
            {
                throw new InvalidOperationException($"daemon {Name} exited before logging '{text}':\n{string.Join('\n', _lines)}");
            }
            _waiters.Add(waiter);
        }
        try
        {
            return await waiter.Found.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            lock (_lock)
            {
                _waiters.Remove(waiter);
            }
            throw new TimeoutException($"daemon {Name} did not log '{text}' ({waiter.Remaining} of {count} lines missing):\n{Tail(80)}");
        }
    }

    /// <summary>
    /// SIGTERM, then waits for the exit (SIGKILL after the guard time). Returns the exit code; the log
    /// has been read to its end.
    /// </summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            await ProcessRunner.RunAsync("kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            try
            {
                await _process.WaitForExitAsync().WaitAsync(StopGuard);
            }
            catch (TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        await _exited.Task.WaitAsync(StopGuard); // both pipes read to their end
        return _process.ExitCode;
    }

    /// <summary>SIGKILL (a crash: no drain, nothing cleaned up); waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(StopGuard);
        }
        await _exited.Task.WaitAsync(StopGuard);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (Exception)
        {
            // Best effort; the topology kills anything left in the node netns.
        }
        _process.Dispose();
    }

    public override string ToString() => $"daemon {Name} (pid {_process.Id})";

    private void OnLine(string? line)
    {
        lock (_lock)
        {
            if (line is null)
            {
                if (--_openStreams == 0)
                {
                    string log = string.Join('\n', _lines);
                    foreach (Waiter waiter in _waiters)
                    {
                        waiter.Found.TrySetException(new InvalidOperationException($"daemon {Name} exited before logging '{waiter.Text}':\n{log}"));
                    }
                    _waiters.Clear();
                    _exited.TrySetResult();
                }
                return;
            }
            _lines.Add(line);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_lines.Count - 1 >= _waiters[i].From && line.Contains(_waiters[i].Text, StringComparison.Ordinal) && --_waiters[i].Remaining == 0)
                {
                    _waiters[i].Found.TrySetResult(line);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private sealed class Waiter(string text, int from, int count)
    {
        public string Text { get; } = text;
        public int From { get; } = from;
        public int Remaining { get; set; } = count;
        public TaskCompletionSource<string> Found { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The tail of the log, for assertion messages.</summary>
    public string Tail(int lines = 40)
    {
        lock (_lock)
        {
            var tail = new StringBuilder();
            for (int i = Math.Max(0, _lines.Count - lines); i < _lines.Count; i++)
            {
                tail.Append(_lines[i]).Append('\n');
            }
            return tail.ToString();
        }
    }
}
