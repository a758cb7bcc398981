using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The inbound HBONE server (DESIGN §4, §5): our own HTTP/2 server (<see cref="Http2ServerConnection"/>)
/// over OpenSSL (<see cref="Tls.Native.NativeTlsStream"/>), fed by <see cref="Listeners"/>; every CONNECT goes to the caller's
/// <see cref="IHboneRequestHandler"/>.
/// </summary>
public sealed partial class HboneServer : IAsyncDisposable
{
    /// <summary>After the drain deadline, how long aborted connections get to put their GOAWAY out and close.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger;
    private readonly ILogger _http2Logger;
    private readonly HboneServerOptions _options;
    private readonly HboneConnectHandler _connect;
    private readonly CancellationTokenSource _abort = new();
    private int _state; // 0 new, 1 started, 2 stopped

    /// <param name="handler">Decides each CONNECT and relays accepted ones.</param>
    /// <param name="loggerFactory">Used for our logs.</param>
    /// <param name="options">Null for production defaults.</param>
    public HboneServer(IHboneRequestHandler handler, ILoggerFactory loggerFactory, HboneServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options ?? new HboneServerOptions();
        _logger = loggerFactory.CreateLogger<HboneServer>();
        _http2Logger = loggerFactory.CreateLogger<Http2ServerConnection>();
        Listeners = new HboneListenerSet(loggerFactory, _options.TimeProvider);
        _connect = new HboneConnectHandler(handler, loggerFactory.CreateLogger<HboneConnectHandler>());
    }

    /// <summary>The listening sockets; add and remove them at any time, before or after start.</summary>
    public HboneListenerSet Listeners { get; }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("HBONE server was already started");
        }
        Listeners.Start(OnAccepted);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops accepting (closes every listening socket), sends GOAWAY on every connection and waits up to
    /// <paramref name="drainTimeout"/> for open tunnels to finish; then aborts what is left (sessions see
    /// their cancellation token fire). Returns once the last connection closed, not at the deadline: a
    /// connection closes as soon as its last tunnel ended, plus a lingering close of at most
    /// <see cref="Http2ServerConnection.MaxLinger"/> when its client does not close first.
    /// </summary>
    public async Task StopAsync(TimeSpan drainTimeout, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            await Listeners.StopAcceptingAsync();
            return;
        }
        Log.Stopping(_logger, drainTimeout);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(drainTimeout);
        // Closing the listeners first: no connection arrives after the GOAWAYs went out.
        await Listeners.StopAcceptingAsync();
        Task drained = BeginDrain();
        try
        {
            await drained.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            if (drainTimeout > TimeSpan.Zero)
            {
                Log.DrainDeadline(_logger, ConnectionCount);
            }
            AbortAll();
            try
            {
                // Aborted connections close within their write grace; this only guards against a bug.
                await drained.WaitAsync(AbortGrace, _options.TimeProvider, CancellationToken.None);
            }
            catch (TimeoutException)
            {
                Log.DrainDeadline(_logger, ConnectionCount);
            }
        }
        Log.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero);
        await Listeners.DisposeAsync();
        _abort.Dispose();
    }
}
