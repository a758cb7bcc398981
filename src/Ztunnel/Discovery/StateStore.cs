namespace Ztunnel.Discovery;

/// <summary>
/// Holds the current <see cref="MeshState"/>. Readers take <see cref="Current"/> once per connection and
/// use that snapshot throughout; writers (a discovery source) publish whole new snapshots.
/// </summary>
internal sealed class StateStore
{
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _publishLock = new();
    private volatile MeshState _current = MeshState.Empty;

    /// <summary>The latest snapshot; never null (empty before the first publish).</summary>
    public MeshState Current => _current;

    /// <summary>True once a source has published a complete state (readiness, DESIGN §9).</summary>
    public bool IsSynced => _synced.Task.IsCompleted;

    /// <summary>Completes when the first state is published.</summary>
    public Task Synced => _synced.Task;

    /// <summary>
    /// Raised after every swap, on the publishing thread, with the old and new snapshot (the connection
    /// tracker re-checks live connections against the new policies). Handlers must not block.
    /// </summary>
    public event EventHandler<MeshStateChangedEventArgs>? Changed;

    public void Publish(MeshState next)
    {
        ArgumentNullException.ThrowIfNull(next);
        MeshState previous;
        // Serialize publishers so Changed events arrive in swap order; readers never take this lock.
        lock (_publishLock)
        {
            previous = _current;
            _current = next;
            Changed?.Invoke(this, new MeshStateChangedEventArgs(previous, next));
        }
        _synced.TrySetResult();
    }
}
