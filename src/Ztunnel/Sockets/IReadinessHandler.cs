namespace Ztunnel.Sockets;

/// <summary>
/// Synchronous work for a readiness event, done on the poller's thread while the direction's waiter stays parked
/// (<see cref="ReadinessSignal.Handler"/>): a small message relayed from the event itself, without waking and
/// unwinding the waiter's async chain.
/// </summary>
internal interface IReadinessHandler
{
    /// <summary>
    /// Does what the event allows without waiting. True: all of it is done (the socket is drained) and the waiter
    /// keeps waiting; false: the waiter must run (more data, the end of the stream, a full window, an error).
    /// Never throws, never blocks.
    /// </summary>
    bool TryHandle();
}
