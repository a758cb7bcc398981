using System.IO.Pipelines;

namespace Ztunnel.Hbone;

/// <summary>
/// The reader scheduler of every stream's receive pipe: a stream's reader (the relay) runs on the
/// connection's read loop thread when the read loop publishes new data, instead of being queued to a
/// thread-pool worker. That saves a hand-off (a wake-up and a context switch) per batch of received DATA:
/// the relay copies the data out and sends it to the app socket (which completes at once unless the
/// socket is full) and the read loop goes on.
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

    public override void Schedule(Action<object?> action, object? state)
    {
        if (!t_inline)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
            return;
        }
        // Only the first level runs here: what the continuation schedules in turn goes to the pool.
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
