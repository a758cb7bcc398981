using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// Kestrel's transport for HBONE: any number of listening sockets (one per pod, each created in its pod's
/// network namespace) added and removed while the server runs. Each socket has its own accept loop; they
/// all feed one channel that Kestrel's single listener drains.
/// </summary>
/// <remarks>
/// Kestrel binds one <see cref="HboneEndPoint"/> and never learns about individual sockets, so adding a
/// pod does not restart or rebind anything.
/// </remarks>
public sealed partial class HboneListenerSet : IConnectionListenerFactory, IConnectionListenerFactorySelector, IAsyncDisposable
{
    private readonly Channel<ConnectionContext> _accepted =
        Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly SocketConnectionContextFactory _connectionFactory;
    private readonly Lock _connectionFactoryLock = new();
    private readonly Lock _lock = new();
    private readonly HashSet<HboneListenerRegistration> _listeners = [];
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private bool _bound;
    private bool _closed;
    private Task? _stopped;
    private int _disposed;

    public HboneListenerSet(ILoggerFactory loggerFactory, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _logger = loggerFactory.CreateLogger<HboneListenerSet>();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _connectionFactory = new SocketConnectionContextFactory(
            new SocketConnectionFactoryOptions(),
            loggerFactory.CreateLogger("Ztunnel.Hbone.Server.SocketConnection"));
    }

    /// <summary>The listeners currently accepting.</summary>
    public IReadOnlyList<HboneListenerInfo> Listeners
    {
        get
        {
            lock (_lock)
            {
                var list = new List<HboneListenerInfo>(_listeners.Count);
                foreach (var listener in _listeners)
                {
                    list.Add(listener.Info);
                }
                return list;
            }
        }
    }

    /// <summary>
    /// Starts accepting on <paramref name="listening"/> (already bound and listening). The set owns the
    /// socket from now on. Disposing the returned handle stops accepting and closes the socket;
    /// connections already accepted on it continue.
    /// </summary>
    public IAsyncDisposable Add(Socket listening, HboneListenerInfo info)
    {
        ArgumentNullException.ThrowIfNull(listening);
        ArgumentNullException.ThrowIfNull(info);
        var registration = new HboneListenerRegistration(this, listening, info);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            _listeners.Add(registration);
        }
        Log.ListenerAdded(_logger, info.Name, info.LocalEndPoint);
        registration.Start();
        return registration;
    }

    bool IConnectionListenerFactorySelector.CanBind(EndPoint endpoint) => endpoint is HboneEndPoint;

    ValueTask<IConnectionListener> IConnectionListenerFactory.BindAsync(EndPoint endpoint, CancellationToken cancellationToken)
    {
        if (endpoint is not HboneEndPoint)
        {
            throw new NotSupportedException($"HBONE listener set cannot bind endpoint '{endpoint}' (only {HboneEndPoint.Instance})");
        }
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (_bound)
            {
                throw new InvalidOperationException("HBONE listener set is already bound to a server");
            }
            _bound = true;
        }
        return ValueTask.FromResult<IConnectionListener>(new Listener(this));
    }

    /// <summary>
    /// Stops every accept loop, closes every listening socket and aborts connections Kestrel never took.
    /// Connections Kestrel already serves continue (they drain). Idempotent: Kestrel unbinds and disposes
    /// its listener, and the server stops the set again.
    /// </summary>
    public Task StopAcceptingAsync()
    {
        lock (_lock)
        {
            _closed = true;
            return _stopped ??= CloseListenersAsync();
        }
    }

    /// <summary>
    /// Stops accepting, then releases the connection factory's memory pool. Only once no connection
    /// accepted here is alive any more (after the server stopped): their pipes rent from that pool.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await StopAcceptingAsync();
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _connectionFactory.Dispose();
        }
    }

    private async Task CloseListenersAsync()
    {
        await Task.Yield(); // run outside the caller's lock
        HboneListenerRegistration[] listeners;
        lock (_lock)
        {
            listeners = [.. _listeners];
        }
        _accepted.Writer.TryComplete();
        foreach (var listener in listeners)
        {
            await listener.DisposeAsync();
        }
        // Accepted but never handed to Kestrel (the server stopped first): close them.
        while (_accepted.Reader.TryRead(out var connection))
        {
            await AbortAsync(connection);
        }
    }

    internal void Remove(HboneListenerRegistration registration)
    {
        bool removed;
        lock (_lock)
        {
            removed = _listeners.Remove(registration);
        }
        if (removed)
        {
            Log.ListenerRemoved(_logger, registration.Info.Name, registration.Info.LocalEndPoint);
        }
    }

    private static async ValueTask AbortAsync(ConnectionContext connection)
    {
        connection.Abort();
        await connection.DisposeAsync();
    }

    /// <summary>Kestrel's view of the set: one listener whose accepts come from every socket.</summary>
    private sealed class Listener(HboneListenerSet set) : IConnectionListener
    {
        public EndPoint EndPoint => HboneEndPoint.Instance;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            var reader = set._accepted.Reader;
            try
            {
                while (await reader.WaitToReadAsync(cancellationToken))
                {
                    if (reader.TryRead(out var connection))
                    {
                        return connection;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            // Null tells Kestrel the listener is done (after unbind or dispose).
            return null;
        }

        // Unbind: Kestrel is stopping. Stop accepting everywhere so a pending AcceptAsync returns null now;
        // connections already handed over drain under Kestrel's graceful shutdown.
        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => new(set.StopAcceptingAsync());

        public ValueTask DisposeAsync() => new(set.StopAcceptingAsync());
    }
}
