namespace Ztunnel.Hbone;

/// <summary>
/// Where a stream's reader (the relay) is woken: on the connection's read loop thread when the read loop
/// publishes new data, instead of on a thread-pool worker. That saves a hand-off (a wake-up and a context
/// switch) per batch of received DATA: the relay copies the data out and sends it to the app socket (which
/// completes at once unless the socket is full) and the read loop goes on. Streams wake their reader through
/// <see cref="Run"/> (<see cref="StreamReceiveBuffer"/>).
/// </summary>
/// <remarks>
/// Inline only inside <see cref="RunInline"/>, which the read loop calls outside the connection lock.
/// END_STREAM is published the same way, after the batch (<see cref="StreamReceiveBuffer.CompleteAtNextPublish"/>).
/// Every other wake-up (a stream reset or failed under the lock, anything woken while an inline reader
/// runs) goes to the thread pool, so a reader never runs inside the connection lock or re-enters the
/// read loop.
/// </remarks>
internal static class ReadLoopScheduler
{
    [ThreadStatic]
    private static bool t_inline;

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
            ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: false);
            return;
        }
        // Only the first level runs here: what the woken reader wakes in turn goes to the pool.
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
}
