using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The server's listening sockets: any number (one per pod, each created in its pod's network namespace),
/// added and removed while the server runs. Each socket has its own accept loop; every accepted socket goes
/// to the server with its listener's <see cref="HboneListenerInfo"/>. Adding a pod restarts nothing.
/// </summary>
public sealed partial class HboneListenerSet : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly HashSet<HboneListenerRegistration> _listeners = [];
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    // Accept loops wait here until the server starts, so a listener added early queues in the kernel backlog.
    private readonly TaskCompletionSource<Action<Socket, HboneListenerInfo>> _acceptor = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;
    private Task? _stopped;

    public HboneListenerSet(ILoggerFactory loggerFactory, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _logger = loggerFactory.CreateLogger<HboneListenerSet>();
        _timeProvider = timeProvider ?? TimeProvider.System;
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
        HboneListenerRegistration registration;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            registration = new HboneListenerRegistration(this, listening, info);
            _listeners.Add(registration);
        }
        Log.ListenerAdded(_logger, info.Name, info.LocalEndPoint);
        registration.Start();
        return registration;
    }

    /// <summary>Hands every accepted socket (from now on, and those waiting in the backlog) to <paramref name="onAccepted"/>.</summary>
    internal void Start(Action<Socket, HboneListenerInfo> onAccepted)
    {
        if (!_acceptor.TrySetResult(onAccepted))
        {
            throw new InvalidOperationException("HBONE listener set was already started");
        }
    }

    /// <summary>Stops every accept loop and closes every listening socket. Accepted connections continue. Idempotent.</summary>
    public Task StopAcceptingAsync()
    {
        lock (_lock)
        {
            _closed = true;
            return _stopped ??= CloseListenersAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAcceptingAsync();

    private async Task CloseListenersAsync()
    {
        await Task.Yield(); // run outside the caller's lock
        HboneListenerRegistration[] listeners;
        lock (_lock)
        {
            listeners = [.. _listeners];
        }
        foreach (var listener in listeners)
        {
            await listener.DisposeAsync();
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
}
