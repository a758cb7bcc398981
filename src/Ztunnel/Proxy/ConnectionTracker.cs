using System.Collections.Concurrent;
using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>
/// Every live proxied connection on this node, so a policy change can re-check them and shutdown can
/// drain them. Registration is one dictionary insert per connection, nothing per chunk.
/// </summary>
internal sealed class ConnectionTracker
{
    private readonly ConcurrentDictionary<long, TrackedConnection> _connections = new();
    private readonly TimeProvider _time;
    private long _nextId;
    private TaskCompletionSource? _emptied;

    public ConnectionTracker(TimeProvider time)
    {
        _time = time;
    }

    public int Count => _connections.Count;

    /// <summary>
    /// Starts tracking; dispose the result when the connection is over. Cutting the connection resets
    /// <paramref name="client"/> and <paramref name="server"/>, the two ends the relay runs between.
    /// </summary>
    public TrackedConnection Register(ConnectionDescription description, TunnelStream? client = null, TunnelStream? server = null)
    {
        var connection = new TrackedConnection(Interlocked.Increment(ref _nextId), description, this, client, server);
        _connections[connection.Id] = connection;
        return connection;
    }

    /// <summary>A copy of the live connections (for policy re-checks and the config dump).</summary>
    public List<TrackedConnection> Snapshot() => [.. _connections.Values];

    /// <summary>
    /// Waits until every connection ended on its own or <paramref name="deadline"/> passed, then closes
    /// what is left. Returns how many connections had to be closed.
    /// </summary>
    public async Task<int> DrainAsync(TimeSpan deadline, CancellationToken cancellationToken = default)
    {
        Task emptied;
        lock (_connections)
        {
            _emptied ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            emptied = _emptied.Task;
        }
        if (!_connections.IsEmpty)
        {
            try
            {
                await emptied.WaitAsync(deadline, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Deadline: what is still open is cut below.
            }
        }
        int closed = 0;
        foreach (TrackedConnection connection in _connections.Values)
        {
            connection.Close("daemon shutting down");
            closed++;
        }
        return closed;
    }

    internal void Remove(TrackedConnection connection)
    {
        _connections.TryRemove(connection.Id, out _);
        if (_connections.IsEmpty)
        {
            lock (_connections)
            {
                _emptied?.TrySetResult();
            }
        }
    }
}
