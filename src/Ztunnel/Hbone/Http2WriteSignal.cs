using System.Threading.Tasks.Sources;

namespace Ztunnel.Hbone;

/// <summary>
/// An auto-reset signal with one waiter (the connection's write loop) that allocates nothing per wait:
/// the loop waits for it whenever nobody has output to write, and whoever hands it the output sets it.
/// </summary>
internal sealed class Http2WriteSignal : IValueTaskSource
{
    private readonly Lock _lock = new();
    // Continuations run on the thread pool, never inline in Set (callers hold the connection lock).
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private bool _set;
    private bool _waiting;

    public ValueTask WaitAsync()
    {
        lock (_lock)
        {
            if (_set)
            {
                _set = false;
                return ValueTask.CompletedTask;
            }
            _core.Reset();
            _waiting = true;
            return new ValueTask(this, _core.Version);
        }
    }

    public void Set()
    {
        lock (_lock)
        {
            if (_waiting)
            {
                _waiting = false;
                _core.SetResult(true);
            }
            else
            {
                _set = true;
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
