using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone;

/// <summary>
/// HTTP/2 connections for outbound HBONE tunnels, shared per <see cref="HbonePoolKey"/> (DESIGN §4):
/// at most <see cref="HboneDefaults.MaxStreamsPerConnection"/> streams each; concurrent openers of one key
/// share one dial (up to a connection's worth of them per dial) instead of dialling one each; connections
/// without streams for <see cref="HboneDefaults.PoolIdleTimeout"/> are closed; a closed, broken or
/// GOAWAY'd connection is never handed out again.
/// <para>
/// <see cref="_sync"/> guards the tables only; dialling, TLS and stream opening all happen outside it.
/// Lock order: pool, then connection (a connection never calls into the pool).
/// </para>
/// </summary>
public sealed class HboneConnectionPool : IAsyncDisposable
{
    /// <summary>A refused stream (GOAWAY race, REFUSED_STREAM) is retried on another connection this many times.</summary>
    private const int MaxOpenAttempts = 3;

    /// <summary>The peer's SETTINGS must arrive within this after the transport is up.</summary>
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _sync = new();
    private readonly HboneDialer _dialer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<HbonePoolKey, Entry> _entries = [];
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly ITimer _idleTimer;
    private bool _disposed;

    public HboneConnectionPool(HboneDialer dialer, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(dialer);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _dialer = dialer;
        _time = time;
        _logger = logger;
        TimeSpan sweep = HboneDefaults.PoolIdleTimeout / 5;
        _idleTimer = time.CreateTimer(static state => ((HboneConnectionPool)state!).CloseIdleConnections(), this, sweep, sweep);
    }

    /// <summary>
    /// Opens a CONNECT tunnel to <paramref name="authority"/> on a pooled connection for <paramref name="key"/>,
    /// dialling one if none has room. Errors: <see cref="HboneConnectException"/> for a non-200 answer,
    /// the dialer's exception if the connection cannot be made, <see cref="IOException"/> otherwise.
    /// </summary>
    public async Task<TunnelStream> ConnectAsync(HbonePoolKey key, string authority, IReadOnlyList<KeyValuePair<string, string>>? headers, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            Http2ClientConnection connection = await AcquireAsync(key, ct).ConfigureAwait(false);
            try
            {
                return await connection.OpenConnectCoreAsync(authority, headers, reserved: true, ct).ConfigureAwait(false);
            }
            catch (Http2StreamRefusedException e) when (attempt < MaxOpenAttempts)
            {
                // Never processed by the peer (GOAWAY, REFUSED_STREAM): safe on another connection.
                Http2Log.StreamRetried(_logger, key, e.Message);
            }
        }
    }

    /// <summary>Open connections for <paramref name="key"/> (tests, diagnostics).</summary>
    internal int ConnectionCount(HbonePoolKey key)
    {
        lock (_sync)
        {
            return _entries.TryGetValue(key, out var entry) ? entry.Connections.Count : 0;
        }
    }

    /// <summary>Returns a connection holding a stream reservation for the caller.</summary>
    private async Task<Http2ClientConnection> AcquireAsync(HbonePoolKey key, CancellationToken ct)
    {
        while (true)
        {
            PendingDial dial;
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!_entries.TryGetValue(key, out var entry))
                {
                    entry = new Entry();
                    _entries.Add(key, entry);
                }
                foreach (var connection in entry.Connections)
                {
                    if (connection.TryReserveStream())
                    {
                        return connection;
                    }
                }
                dial = JoinOrStartDialLocked(key, entry);
            }
            Http2ClientConnection dialled = await dial.Task.WaitAsync(ct).ConfigureAwait(false);
            if (dialled.TryReserveStream())
            {
                return dialled;
            }
            // Full already (peer allows fewer streams than we assumed) or closed: look again.
        }
    }

    private PendingDial JoinOrStartDialLocked(HbonePoolKey key, Entry entry)
    {
        foreach (var pending in entry.Dials)
        {
            if (pending.Waiters < HboneDefaults.MaxStreamsPerConnection)
            {
                pending.Waiters++;
                return pending;
            }
        }
        var dial = new PendingDial { Waiters = 1 };
        entry.Dials.Add(dial);
        // Task.Run: the dialer is caller code and must not run under our lock.
        dial.Task = Task.Run(() => DialAsync(key, entry, dial));
        return dial;
    }

    private async Task<Http2ClientConnection> DialAsync(HbonePoolKey key, Entry entry, PendingDial dial)
    {
        Http2ClientConnection? connection = null;
        try
        {
            Stream transport = await _dialer(key, _disposeCts.Token).ConfigureAwait(false);
            using (var handshake = new CancellationTokenSource(HandshakeTimeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(handshake.Token, _disposeCts.Token))
            {
                connection = await Http2ClientConnection.StartAsync(transport, _time, _logger, linked.Token).ConfigureAwait(false);
            }
            lock (_sync)
            {
                entry.Dials.Remove(dial);
                if (!_disposed)
                {
                    entry.Connections.Add(connection);
                    _ = RemoveWhenClosedAsync(key, entry, connection);
                    Http2Log.ConnectionDialled(_logger, key, entry.Connections.Count);
                    return connection;
                }
            }
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(HboneConnectionPool));
        }
        catch (Exception e) when (connection is null)
        {
            lock (_sync)
            {
                entry.Dials.Remove(dial);
                RemoveEntryIfEmptyLocked(key, entry);
            }
            Http2Log.DialFailed(_logger, key, e.Message);
            throw;
        }
    }

    private async Task RemoveWhenClosedAsync(HbonePoolKey key, Entry entry, Http2ClientConnection connection)
    {
        await connection.Completion.ConfigureAwait(false);
        lock (_sync)
        {
            entry.Connections.Remove(connection);
            RemoveEntryIfEmptyLocked(key, entry);
        }
    }

    private void RemoveEntryIfEmptyLocked(HbonePoolKey key, Entry entry)
    {
        if (entry.Connections.Count == 0 && entry.Dials.Count == 0 && _entries.TryGetValue(key, out var current) && current == entry)
        {
            _entries.Remove(key);
        }
    }

    /// <summary>Closes connections that have had no stream for the idle timeout.</summary>
    internal void CloseIdleConnections()
    {
        List<Http2ClientConnection>? idle = null;
        lock (_sync)
        {
            foreach (var (key, entry) in _entries)
            {
                for (int i = entry.Connections.Count - 1; i >= 0; i--)
                {
                    // IdleTime is zero while a stream or reservation exists; reservations are taken under
                    // this lock, so a connection judged idle here cannot be handed out meanwhile.
                    if (entry.Connections[i].IdleTime >= HboneDefaults.PoolIdleTimeout)
                    {
                        (idle ??= []).Add(entry.Connections[i]);
                        entry.Connections.RemoveAt(i);
                    }
                }
            }
        }
        if (idle is null)
        {
            return;
        }
        foreach (var connection in idle)
        {
            Http2Log.IdleConnectionClosed(_logger);
            _ = connection.ShutdownAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Http2ClientConnection> all = [];
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (var entry in _entries.Values)
            {
                all.AddRange(entry.Connections);
            }
            _entries.Clear();
        }
        await _disposeCts.CancelAsync().ConfigureAwait(false);
        await _idleTimer.DisposeAsync().ConfigureAwait(false);
        foreach (var connection in all)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        _disposeCts.Dispose();
    }

    private sealed class Entry
    {
        public List<Http2ClientConnection> Connections { get; } = [];
        public List<PendingDial> Dials { get; } = [];
    }

    private sealed class PendingDial
    {
        /// <summary>Openers counting on this dial; one connection's worth joins, the next opener starts another.</summary>
        public int Waiters { get; set; }
        public Task<Http2ClientConnection> Task { get; set; } = null!;
    }
}
