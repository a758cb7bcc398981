namespace Ztunnel.Tests.Hbone;

/// <summary>
/// A TimeProvider whose clock only moves when the test calls <see cref="Advance"/>; due timers fire
/// synchronously inside Advance. (Microsoft.Extensions.TimeProvider.Testing is not available.)
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _sync = new();
    private readonly List<ManualTimer> _timers = [];
    private long _ticks = TimeSpan.FromDays(1).Ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() { lock (_sync) { return _ticks; } }
    public override DateTimeOffset GetUtcNow() { lock (_sync) { return new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(_ticks); } }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        lock (_sync)
        {
            _timers.Add(timer);
        }
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        long target;
        lock (_sync)
        {
            target = _ticks + by.Ticks;
        }
        while (true)
        {
            ManualTimer? due = null;
            lock (_sync)
            {
                foreach (var t in _timers)
                {
                    if (t.DueTicks is { } d && d <= target && (due is null || d < due.DueTicks))
                    {
                        due = t;
                    }
                }
                if (due is null)
                {
                    _ticks = target;
                    return;
                }
                _ticks = Math.Max(_ticks, due.DueTicks!.Value);
                due.DueTicks = due.PeriodTicks > 0 ? _ticks + due.PeriodTicks : null;
            }
            due.Fire();
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long? DueTicks { get; set; }
        public long PeriodTicks { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._sync)
            {
                DueTicks = dueTime == Timeout.InfiniteTimeSpan ? null : owner._ticks + dueTime.Ticks;
                PeriodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
            }
            return true;
        }

        public void Dispose()
        {
            lock (owner._sync)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
