namespace Ztunnel.Daemon;

/// <summary>
/// The system clock, with timers whose callbacks run on a thread of their own instead of the thread pool. For the
/// daemon's few process-wide periodic ticks (<see cref="MemoryTrimmer"/>'s), not for per-connection timers (a
/// thread each).
/// </summary>
/// <remarks>
/// Why: a pool timer's tick wakes a pool worker, and a worker that runs out of work spins (about 240
/// <c>sched_yield</c> calls) before it sleeps again, and it keeps the pool's gate thread ticking. A daemon at rest,
/// whose only timer was the trimmer's half-second tick, made ~150 syscalls and ~130 context switches a second that
/// way. A thread of its own sleeps in one futex wait between ticks.
/// </remarks>
internal sealed class DedicatedThreadTimeProvider(string threadName) : TimeProvider
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new DedicatedThreadTimer(threadName, callback, state, dueTime, period);
}
