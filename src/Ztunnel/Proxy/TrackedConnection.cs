using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>One live proxied connection: what it is, its byte counters, and a way to cut it.</summary>
/// <remarks>
/// Cutting resets both ends directly, which fails the relay's pending reads and writes at once. The relay itself
/// passes no cancellation token to them: a token on every pending read would cost each idle connection a
/// registration per direction, and held connections are what per-connection memory is made of.
/// </remarks>
internal sealed class TrackedConnection : IDisposable
{
    private readonly ConnectionTracker _owner;
    private readonly TunnelStream? _client;
    private readonly TunnelStream? _server;
    private CloseCause? _cause;
    private int _disposed;

    internal TrackedConnection(long id, ConnectionDescription description, ConnectionTracker owner, TunnelStream? client, TunnelStream? server)
    {
        Id = id;
        Description = description;
        _owner = owner;
        _client = client;
        _server = server;
    }

    public long Id { get; }
    public ConnectionDescription Description { get; }
    public RelayCounters Counters { get; } = new();

    /// <summary>The connection observer's own per-connection state (telemetry keeps its label set here); set once in Opened.</summary>
    public object? ObserverState { get; set; }

    /// <summary>Why the daemon cut the connection, if it did (for the access log).</summary>
    public string? CloseReason => Volatile.Read(ref _cause)?.Reason;

    /// <summary>The failure a cut counts as (a policy re-check denies); null for a drain or a normal end.</summary>
    public ConnectionFailure? CloseFailure => Volatile.Read(ref _cause)?.Failure;

    /// <summary>The policy that decided a cut, if one did.</summary>
    public string? ClosePolicy => Volatile.Read(ref _cause)?.Policy;

    /// <summary>The daemon cuts the connection (policy change, drain): both ends are reset; the first reason given stays.</summary>
    public void Close(string reason, ConnectionFailure? failure = null, string? policy = null)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }
        Interlocked.CompareExchange(ref _cause, new CloseCause(reason, failure, policy), null);
        Cut();
    }

    /// <summary>Resets both ends without a reason of the daemon's own (the pod went away, the tunnel was aborted).</summary>
    public void Cut()
    {
        _client?.Reset();
        _server?.Reset();
    }

    /// <summary>
    /// Cuts the connection when <paramref name="token"/> fires (at once if it already has): one registration per
    /// connection and reason. Dispose the result when the relay is over.
    /// </summary>
    public CancellationTokenRegistration CutWhen(CancellationToken token) =>
        token.UnsafeRegister(static connection => ((TrackedConnection)connection!).Cut(), this);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _owner.Remove(this);
    }

    private sealed record CloseCause(string Reason, ConnectionFailure? Failure, string? Policy);
}
