using System.Net;
using System.Net.Sockets;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Hbone.Server;

// One accepted socket from accept to close: TLS handshake with the listener's certificate, the client's
// identity (once per connection), then HTTP/2. Live connections are tracked so a stop can drain them.
public sealed partial class HboneServer
{
    private readonly Lock _lock = new();
    private readonly HashSet<Http2ServerConnection> _live = [];
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _handshaking;
    private bool _draining;

    private int ConnectionCount
    {
        get
        {
            lock (_lock)
            {
                return _live.Count + _handshaking;
            }
        }
    }

    private void OnAccepted(Socket socket, HboneListenerInfo listener)
    {
        lock (_lock)
        {
            if (_draining)
            {
                socket.Dispose(); // accepted just before the listener closed
                return;
            }
            _handshaking++;
        }
        _ = ServeAsync(socket, listener);
    }

    private async Task ServeAsync(Socket socket, HboneListenerInfo listener)
    {
        Http2ServerConnection? connection = null;
        try
        {
            connection = await HandshakeAsync(socket, listener);
        }
        finally
        {
            lock (_lock)
            {
                _handshaking--;
                if (connection is not null)
                {
                    _live.Add(connection);
                    if (_draining)
                    {
                        // The stop began during the handshake: GOAWAY right after our SETTINGS.
                        connection.BeginShutdown();
                    }
                }
                CheckDrainedLocked();
            }
        }
        if (connection is null)
        {
            return;
        }
        await connection.Completion;
        lock (_lock)
        {
            _live.Remove(connection);
            CheckDrainedLocked();
        }
    }

    /// <summary>TLS (unless plaintext), identity, then HTTP/2. Null when the client did not make it that far.</summary>
    private async Task<Http2ServerConnection?> HandshakeAsync(Socket socket, HboneListenerInfo listener)
    {
        socket.NoDelay = true;
        var remote = socket.RemoteEndPoint as IPEndPoint;
        if (!_options.UseTls)
        {
            // Accepted non-blocking (the listener is the poller's); NetworkStream takes blocking sockets only.
            socket.Blocking = true;
            return Http2ServerConnection.Start(new NetworkStream(socket, ownsSocket: true), socket, new HboneConnectionInfo(listener, null, remote), _connect,
                _options.HandshakeTimeout, _options.TimeProvider, _http2Logger);
        }
        try
        {
            var tls = listener.ServerTls
                ?? throw new InvalidOperationException($"HBONE listener {listener} has no server TLS context");
            NativeTlsStream stream;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token))
            {
                timeout.CancelAfter(_options.HandshakeTimeout);
                // Owns the socket from here on, also when it throws.
                stream = await tls.AcceptAsync(socket, timeout.Token);
            }
            if (stream.PeerIdentity is not SpiffeId identity)
            {
                // The validator requires a SPIFFE client certificate, so this is a wiring bug; refuse the
                // connection rather than serve it without an identity.
                Log.NoPeerIdentity(_logger, listener.Name, remote);
                await stream.DisposeAsync();
                return null;
            }
            return Http2ServerConnection.Start(stream, socket, new HboneConnectionInfo(listener, identity, remote), _connect,
                _options.HandshakeTimeout, _options.TimeProvider, _http2Logger);
        }
        catch (Exception e)
        {
            // The validator logs rejected peers with their reason (AuthenticationException); the rest is a
            // client gone mid-handshake, or a listener without TLS context. Either way: this connection only.
            Log.HandshakeFailed(_logger, listener.Name, remote, e.Message);
            socket.Dispose(); // already closed unless the TLS context was missing
            return null;
        }
    }

    /// <summary>GOAWAY on every connection, now and later; the task completes when none is left.</summary>
    private Task BeginDrain()
    {
        Http2ServerConnection[] live;
        lock (_lock)
        {
            _draining = true;
            live = [.. _live];
            CheckDrainedLocked();
        }
        foreach (var connection in live)
        {
            connection.BeginShutdown();
        }
        return _drained.Task;
    }

    /// <summary>After the drain deadline: handshakes are cancelled, connections closed, their sessions' tokens fire.</summary>
    private void AbortAll()
    {
        _abort.Cancel();
        Http2ServerConnection[] live;
        lock (_lock)
        {
            live = [.. _live];
        }
        foreach (var connection in live)
        {
            connection.Abort(new IOException("HBONE server stopped: drain deadline passed"), Http2ErrorCode.NoError);
        }
    }

    private void CheckDrainedLocked()
    {
        if (_draining && _live.Count == 0 && _handshaking == 0)
        {
            _drained.TrySetResult();
        }
    }
}
