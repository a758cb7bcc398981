namespace Ztunnel.Proxy;

/// <summary>One live proxied connection: what it is, its byte counters, and a way to cut it.</summary>
internal sealed class TrackedConnection : IDisposable
{
    private readonly ConnectionTracker _owner;
    private readonly CancellationTokenSource _closed = new();
    private int _disposed;

    internal TrackedConnection(long id, ConnectionDescription description, ConnectionTracker owner)
    {
        Id = id;
        Description = description;
        _owner = owner;
    }

    public long Id { get; }
    public ConnectionDescription Description { get; }
    public RelayCounters Counters { get; } = new();

    /// <summary>The connection observer's own per-connection state (telemetry keeps its label set here); set once in Opened.</summary>
    public object? ObserverState { get; set; }

    /// <summary>Cancelled when the daemon decides to cut the connection (policy change, drain).</summary>
    public CancellationToken ClosedToken => _closed.Token;

    /// <summary>Why the daemon cut the connection, if it did (for the access log).</summary>
    public string? CloseReason { get; private set; }

    public void Close(string reason)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }
        CloseReason ??= reason;
        _closed.Cancel();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // The token source is not disposed: it has no timer, and readers may still look at ClosedToken.
        _owner.Remove(this);
    }
}
