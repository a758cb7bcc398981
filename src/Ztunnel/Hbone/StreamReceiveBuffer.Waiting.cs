using System.Threading.Tasks.Sources;

namespace Ztunnel.Hbone;

// The reader's wait: this object is the IValueTaskSource behind WaitAsync (one wait at a time, versioned), and
// the thread-pool work item that runs the waiting reader, so neither waiting nor waking allocates.
internal sealed partial class StreamReceiveBuffer
{
    /// <summary>
    /// Completes when there are bytes to read, the end, a failure or a <see cref="CancelWait"/>: the caller then
    /// calls <see cref="TryRead"/> again. Consumes nothing. Waiting allocates nothing.
    /// </summary>
    public ValueTask WaitAsync()
    {
        lock (this)
        {
            if (_published > _consumed || _completed || _disposed)
            {
                return default;
            }
            if (_waiting || _signaled)
            {
                throw new InvalidOperationException("HBONE stream receive buffer: a wait is already in progress (one reader at a time)");
            }
            _waiting = true;
            return new ValueTask(this, _version);
        }
    }

    /// <summary>Ends a pending <see cref="WaitAsync"/> early (the reader's token fired); the reader checks its token.</summary>
    public void CancelWait() => Wake();

    private void Wake()
    {
        lock (this)
        {
            if (!_waiting)
            {
                return;
            }
            _waiting = false;
            _signaled = true;
            if (_continuation is null)
            {
                // Not awaited yet: OnCompleted will see the signal.
                return;
            }
        }
        ReadLoopScheduler.Run(this);
    }

    void IThreadPoolWorkItem.Execute()
    {
        Action<object?>? continuation;
        object? state;
        lock (this)
        {
            continuation = _continuation;
            state = _continuationState;
            _continuation = null;
            _continuationState = null;
        }
        continuation?.Invoke(state);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token)
    {
        lock (this)
        {
            ValidateTokenLocked(token);
            return _signaled ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Pending;
        }
    }

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        // The scheduling context is ignored, as the pipe did (useSynchronizationContext: false). The execution
        // context flows when asked; async methods never ask (their builder restores it), so that costs nothing here.
        if ((flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 && ExecutionContext.Capture() is { } context)
        {
            state = (continuation, state, context);
            continuation = static s =>
            {
                var (inner, innerState, captured) = ((Action<object?>, object?, ExecutionContext))s!;
                ExecutionContext.Run(captured, static t =>
                {
                    var (c, cs) = ((Action<object?>, object?))t!;
                    c(cs);
                }, (inner, innerState));
            };
        }
        lock (this)
        {
            ValidateTokenLocked(token);
            _continuation = continuation;
            _continuationState = state;
            if (!_signaled)
            {
                return;
            }
        }
        // Signaled between the caller's status check and here: never run a continuation on the awaiting thread.
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IValueTaskSource.GetResult(short token)
    {
        lock (this)
        {
            ValidateTokenLocked(token);
            if (!_signaled)
            {
                throw new InvalidOperationException("HBONE stream receive buffer: the wait has not completed");
            }
            _signaled = false;
            _version++;
        }
    }

    private void ValidateTokenLocked(short token)
    {
        if (token != _version)
        {
            throw new InvalidOperationException("HBONE stream receive buffer: the wait was already consumed (a ValueTask awaited twice)");
        }
    }
}
