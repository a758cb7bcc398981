using System.Threading.Tasks.Sources;

namespace Ztunnel.Sockets;

/// <summary>
/// One direction (readable or writable) of a <see cref="PolledSocket"/>: a count of the readiness events the
/// poller saw, and at most one waiter. A waiter names the count it saw before its last attempt found nothing
/// to do (EAGAIN, or a short read), and is woken by the first event after that count, so an event that arrives
/// between the attempt and the wait is never lost (the socket is registered edge-triggered: no event repeats).
/// </summary>
/// <remarks>
/// <para>
/// A short read proves the queue had no more data, not that nothing is pending: the peer's FIN (or a reset) may
/// already be there, its one event seen before the read. So such a state is kept (<see cref="Signal"/> with
/// <c>final</c>): from then on no wait waits, and the next attempt meets the end or the error.
/// </para>
/// <para>
/// The wait is this object (reset per wait), so waiting allocates nothing. A readiness event completes the
/// waiter on the poller's thread when <see cref="SocketPoller.InlineCompletions"/> is on (as the daemon runs),
/// else on the thread pool; a failure (dispose, cancellation) always completes it on the pool, so a caller that
/// disposes a socket never runs the waiter's continuation inside its own call.
/// </para>
/// </remarks>
internal sealed class ReadinessSignal : IValueTaskSource
{
    // The state below is guarded by this object's own monitor, not a Lock field: there are two directions per polled
    // socket, and a Lock object made each one 48 bytes larger (144 -> 96 without it) for a lock that is almost never
    // contended (the poller's Signal against the one waiter). Those that hold the object (its PolledSocket, the
    // ValueTask machinery) never lock on it.
    private ManualResetValueTaskSourceCore<bool> _core;
    private int _events;
    private bool _waiting;
    private bool _final;
    private int _waitId;
    private CancellationTokenRegistration _cancellation;
    private Exception? _failure;
    private volatile IReadinessHandler? _handler;

    /// <summary>
    /// Work the poller's thread does itself at an event while a waiter waits, before it wakes the waiter (and instead,
    /// when the handler took care of all there was). Null: every event wakes the waiter.
    /// </summary>
    public IReadinessHandler? Handler
    {
        get => _handler;
        set => _handler = value;
    }

    /// <summary>Events seen so far: read it before an attempt, pass it to <see cref="WaitAsync"/> after one that found nothing.</summary>
    public int Events => Volatile.Read(ref _events);

    /// <summary>
    /// Completes at the first event after <paramref name="seenEvents"/> (at once if there was one already), or
    /// fails once the socket is disposed or <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public ValueTask WaitAsync(int seenEvents, CancellationToken cancellationToken)
    {
        int id;
        lock (this)
        {
            if (_failure is not null)
            {
                return ValueTask.FromException(_failure);
            }
            if (_final || _events != seenEvents)
            {
                return ValueTask.CompletedTask;
            }
            if (_waiting)
            {
                throw new InvalidOperationException("a socket direction has one waiter at a time");
            }
            cancellationToken.ThrowIfCancellationRequested();
            _core.Reset();
            _waiting = true;
            id = ++_waitId;
        }
        if (cancellationToken.CanBeCanceled)
        {
            CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((ReadinessSignal)((object[])state!)[0]).Cancel((int)((object[])state)[1], token), new object[] { this, id });
            lock (this)
            {
                if (_waiting && _waitId == id)
                {
                    _cancellation = registration;
                    registration = default;
                }
            }
            registration.Unregister(); // already completed (or cancelled inside UnsafeRegister): nothing to keep
        }
        return new ValueTask(this, _core.Version);
    }

    /// <summary>
    /// The poller saw the socket ready in this direction; <paramref name="final"/> when it stays so for good (the
    /// peer's FIN, a hang-up, an error).
    /// </summary>
    public void Signal(bool final, bool inline)
    {
        IReadinessHandler? handler;
        lock (this)
        {
            _final |= final;
            _events++;
            if (!_waiting)
            {
                return;
            }
            // The end of the stream or an error is the waiter's to handle.
            handler = _final ? null : _handler;
            if (handler is null)
            {
                _waiting = false;
            }
        }
        if (handler is not null)
        {
            // The waiter stays registered while the handler runs: nobody else reads this direction then. A failure
            // (dispose) meanwhile completes it as usual, and the handler's next call on the socket fails.
            if (handler.TryHandle())
            {
                return;
            }
            lock (this)
            {
                if (!_waiting)
                {
                    return;
                }
                _waiting = false;
            }
        }
        Complete(null, inline);
    }

    /// <summary>Fails the waiter and every later wait (the socket is closed).</summary>
    public void Fail(Exception failure)
    {
        lock (this)
        {
            _failure ??= failure;
            if (!_waiting)
            {
                return;
            }
            _waiting = false;
        }
        Complete(failure, inline: false);
    }

    private void Cancel(int id, CancellationToken token)
    {
        lock (this)
        {
            if (!_waiting || _waitId != id)
            {
                return;
            }
            _waiting = false;
        }
        Complete(new OperationCanceledException(token), inline: false);
    }

    private void Complete(Exception? failure, bool inline)
    {
        CancellationTokenRegistration registration;
        lock (this)
        {
            registration = _cancellation;
            _cancellation = default;
        }
        registration.Unregister(); // never Dispose: that would wait for a cancellation callback running on this thread
        _core.RunContinuationsAsynchronously = !inline;
        if (failure is null)
        {
            _core.SetResult(true);
        }
        else
        {
            _core.SetException(failure);
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
