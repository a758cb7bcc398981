using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The connections Kestrel is serving, so <see cref="HboneServer.StopAsync"/> can drain them itself: ask
/// each to close gracefully (HTTP/2 GOAWAY, open streams run to completion) and learn when the last one
/// is gone.
/// </summary>
/// <remarks>
/// Kestrel's own graceful stop is not enough for long-lived HTTP/2 streams: it disposes its heartbeat
/// before draining, and without the heartbeat's tick an HTTP/2 connection re-checks "GOAWAY sent and no
/// stream left, so close" only when a frame arrives from the client. A tunnel whose END_STREAM is the
/// connection's last frame (the client has nothing more to send) would keep the connection, and the
/// stop, waiting until the drain deadline. Draining here, while the heartbeat still ticks once a second,
/// lets every connection close at most a tick after its last tunnel ended.
/// </remarks>
internal sealed class HboneConnectionTracker
{
    private readonly TimeProvider _timeProvider;
    private readonly Lock _lock = new();
    private readonly HashSet<ConnectionContext> _live = [];
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _draining;

    public HboneConnectionTracker(TimeProvider timeProvider) => _timeProvider = timeProvider;

    /// <summary>Connections currently open (TLS handshake included).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _live.Count;
            }
        }
    }

    /// <summary>
    /// Connection middleware: the first in the pipeline, so the whole connection runs inside it, and the
    /// socket closes with a lingering close (<see cref="LingeringTransport"/>).
    /// </summary>
    public async Task RunAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        bool draining;
        lock (_lock)
        {
            _live.Add(connection);
            draining = _draining;
        }
        if (draining)
        {
            // Kestrel took it from the listener just before the stop closed it: GOAWAY right after the preface.
            RequestClose(connection);
        }
        var transport = new LingeringTransport(connection.Transport);
        connection.Transport = transport;
        try
        {
            await next(connection);
        }
        finally
        {
            await transport.CloseAsync(_timeProvider);
            lock (_lock)
            {
                _live.Remove(connection);
                if (_draining && _live.Count == 0)
                {
                    _drained.TrySetResult();
                }
            }
        }
    }

    /// <summary>
    /// Asks every connection, now and later, to close gracefully; completes when none is open any more.
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires first.
    /// </summary>
    public Task DrainAsync(CancellationToken cancellationToken)
    {
        ConnectionContext[] live;
        lock (_lock)
        {
            _draining = true;
            live = [.. _live];
            if (live.Length == 0)
            {
                _drained.TrySetResult();
            }
        }
        foreach (var connection in live)
        {
            RequestClose(connection);
        }
        return _drained.Task.WaitAsync(cancellationToken);
    }

    // What Kestrel's own stop does per connection: HTTP/2 sends GOAWAY and closes once no stream is open.
    private static void RequestClose(ConnectionContext connection) =>
        connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
}
