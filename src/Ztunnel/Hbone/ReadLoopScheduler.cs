using System.IO.Pipelines;

namespace Ztunnel.Hbone;

/// <summary>
/// Where a stream's reader (the relay) is woken: on the connection's read loop thread when the read loop
/// publishes new data, instead of on a thread-pool worker. That saves a hand-off (a wake-up and a context
/// switch) per batch of received DATA: the relay copies the data out and sends it to the app socket (which
/// completes at once unless the socket is full) and the read loop goes on. Streams wake their reader through
/// <see cref="Run"/> (<see cref="StreamReceiveBuffer"/>); the <see cref="PipeScheduler"/> face applies the same
/// rules to anything scheduled as a pipe continuation.
/// </summary>
/// <remarks>
/// Inline only inside <see cref="RunInline"/>, which the read loop calls outside the connection lock.
/// Every other wake-up (a stream completed or reset under the lock, anything scheduled while an inline
/// continuation runs) goes to the thread pool as with <see cref="PipeScheduler.ThreadPool"/>, so a reader
/// never runs inside the connection lock or re-enters the read loop.
/// </remarks>
internal sealed class ReadLoopScheduler : PipeScheduler
{
    public static readonly ReadLoopScheduler Instance = new();

    [ThreadStatic]
    private static bool t_inline;

    private ReadLoopScheduler()
    {
    }

    /// <summary>Runs <paramref name="publish"/> with inline scheduling on for this thread.</summary>
    public static void RunInline<TState>(Action<TState> publish, TState state)
    {
        t_inline = true;
        try
        {
            publish(state);
        }
        finally
        {
            t_inline = false;
        }
    }

    /// <summary>Runs <paramref name="work"/> here when inline (one level), else queues it (no allocation either way).</summary>
    public static void Run(IThreadPoolWorkItem work)
    {
        if (!t_inline)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: false);
            return;
        }
        // Only the first level runs here: what the continuation schedules in turn goes to the pool.
        t_inline = false;
        try
        {
            work.Execute();
        }
        finally
        {
            t_inline = true;
        }
    }

    public override void Schedule(Action<object?> action, object? state)
    {
        if (!t_inline)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
            return;
        }
        t_inline = false;
        try
        {
            action(state);
        }
        finally
        {
            t_inline = true;
        }
    }
}
