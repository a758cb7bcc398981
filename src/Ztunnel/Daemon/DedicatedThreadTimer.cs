namespace Ztunnel.Daemon;

/// <summary>
/// A timer with its own background thread (see <see cref="DedicatedThreadTimeProvider"/>). As with
/// <see cref="System.Threading.Timer"/>: <see cref="Timeout.InfiniteTimeSpan"/> as the due time stops it, as the period
/// makes it fire once, and the next period is counted from the end of a callback, so callbacks never overlap. A
/// callback that throws ends the process, as one of a pool timer does.
/// </summary>
internal sealed class DedicatedThreadTimer : ITimer
{
    private readonly object _gate = new(); // guards the fields below; Monitor.Wait on it is the thread's sleep
    private readonly TimerCallback _callback;
    private readonly object? _state;
    private long _dueAt; // Environment.TickCount64, or long.MaxValue when stopped
    private TimeSpan _period;
    private bool _disposed;
    private int _callbacksDone;

    public DedicatedThreadTimer(string threadName, TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        _callback = callback;
        _state = state;
        Schedule(dueTime, period);
        Thread = new Thread(Run) { IsBackground = true, Name = threadName };
        Thread.UnsafeStart();
    }

    /// <summary>The timer's thread; it ends soon after <see cref="Dispose"/> (tests join it).</summary>
    internal Thread Thread { get; }

    /// <summary>Callbacks that returned and whose next due time is set (tests).</summary>
    internal int CallbacksDone => Volatile.Read(ref _callbacksDone);

    /// <summary>True while the timer will not fire until it is changed (tests).</summary>
    internal bool IsStopped
    {
        get
        {
            lock (_gate)
            {
                return _dueAt == long.MaxValue;
            }
        }
    }

    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }
            Schedule(dueTime, period);
            Monitor.Pulse(_gate);
            return true;
        }
    }

    /// <summary>Stops the timer; a callback that is running finishes, no other starts.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.Pulse(_gate);
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void Schedule(TimeSpan dueTime, TimeSpan period)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, Timeout.InfiniteTimeSpan);
        ArgumentOutOfRangeException.ThrowIfLessThan(period, Timeout.InfiniteTimeSpan);
        _period = period;
        _dueAt = dueTime == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)dueTime.TotalMilliseconds;
    }

    private void Run()
    {
        while (WaitUntilDue())
        {
            // Outside the lock: the callback may change or dispose its own timer.
            _callback(_state);
            lock (_gate)
            {
                // Counted from now, unless the callback rescheduled the timer meanwhile (then its schedule stands).
                if (_dueAt == long.MinValue)
                {
                    _dueAt = _period == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)_period.TotalMilliseconds;
                }
                _callbacksDone++;
            }
        }
    }

    /// <summary>Sleeps until the timer is due (true) or disposed (false).</summary>
    private bool WaitUntilDue()
    {
        lock (_gate)
        {
            while (!_disposed)
            {
                long now = Environment.TickCount64;
                if (_dueAt <= now)
                {
                    _dueAt = long.MinValue; // firing: the next due time is set after the callback
                    return true;
                }
                if (_dueAt == long.MaxValue)
                {
                    Monitor.Wait(_gate);
                }
                else
                {
                    Monitor.Wait(_gate, TimeSpan.FromMilliseconds(Math.Min(_dueAt - now, int.MaxValue)));
                }
            }
            return false;
        }
    }
}
