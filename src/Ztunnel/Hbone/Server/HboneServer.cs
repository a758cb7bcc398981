using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The inbound HBONE server (DESIGN §4, §5): Kestrel, HTTP/2 only, fed by <see cref="Listeners"/>; every
/// CONNECT goes to the caller's <see cref="IHboneRequestHandler"/>.
/// </summary>
/// <remarks>
/// Kestrel runs in a bare host (no configuration sources, no logging providers of its own, no console
/// lifetime); it logs through the caller's <see cref="ILoggerFactory"/>, minus ASP.NET Core's per-request
/// Information lines (<see cref="QuietHostLoggerFactory"/>).
/// </remarks>
public sealed partial class HboneServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private readonly HboneConnectionTracker _connections;
    private int _state; // 0 new, 1 started, 2 stopped

    /// <param name="handler">Decides each CONNECT and relays accepted ones.</param>
    /// <param name="loggerFactory">Used for our logs and Kestrel's.</param>
    /// <param name="options">Null for production defaults.</param>
    public HboneServer(IHboneRequestHandler handler, ILoggerFactory loggerFactory, HboneServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options ??= new HboneServerOptions();
        _logger = loggerFactory.CreateLogger<HboneServer>();
        Listeners = new HboneListenerSet(loggerFactory, options.TimeProvider);
        _connections = new HboneConnectionTracker(options.TimeProvider);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        // Registered after the host's defaults, so these win.
        builder.Services.AddSingleton<ILoggerFactory>(new QuietHostLoggerFactory(loggerFactory));
        builder.Services.AddSingleton<IHostLifetime, NoHostLifetime>();
        // The drain deadline comes from StopAsync's caller, not the host's 30 s default.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddSingleton<IConnectionListenerFactory>(Listeners);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => ConfigureKestrel(kestrel, options));
        _app = builder.Build();
        var connect = new HboneConnectHandler(handler, loggerFactory.CreateLogger<HboneConnectHandler>());
        _app.Run(connect.HandleAsync);
    }

    /// <summary>The listening sockets; add and remove them at any time, before or after start.</summary>
    public HboneListenerSet Listeners { get; }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("HBONE server was already started");
        }
        await _app.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Stops accepting (closes every listening socket), sends GOAWAY on every connection and waits up to
    /// <paramref name="drainTimeout"/> for open tunnels to finish; then aborts what is left (sessions see
    /// their cancellation token fire). Returns once the last connection closed, not at the deadline: a
    /// connection closes within a heartbeat (1 s) after its last tunnel ended, plus a lingering close of
    /// at most <see cref="LingeringTransport.MaxLinger"/> when its client does not close first.
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
        try
        {
            // The drain runs before Kestrel's stop, while Kestrel's heartbeat still ticks
            // (HboneConnectionTracker says why). Closing the listeners first makes our listener return
            // null to Kestrel's accept loop, so no connection arrives after the GOAWAYs went out.
            await Listeners.StopAcceptingAsync();
            try
            {
                await _connections.DrainAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                if (drainTimeout > TimeSpan.Zero)
                {
                    Log.DrainDeadline(_logger, _connections.Count);
                }
            }
            // Unbinds and disposes our listener; with the deadline passed it aborts the connections left
            // (their sessions' tokens fire), otherwise there are none.
            await _app.StopAsync(deadline.Token);
        }
        finally
        {
            await Listeners.StopAcceptingAsync();
        }
        Log.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero);
        await _app.DisposeAsync();
        // Last: every connection is gone, so nothing rents from the transport's memory pool any more.
        await Listeners.DisposeAsync();
    }
}
