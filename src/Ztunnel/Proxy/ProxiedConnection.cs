using Microsoft.Extensions.Logging;
using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>
/// One relayed connection from its start to its end: tracked (so drains and policy re-checks can cut it), observed
/// (metrics, access log), and released once both directions ended. Nothing waits for it: besides the relay's two
/// direction frames, this small object is all a held connection keeps of the relay.
/// </summary>
internal sealed class ProxiedConnection : IRelayEnded
{
    private readonly ProxyContext _context;
    private readonly ILogger _logger;
    private readonly TrackedConnection _tracked;
    private readonly TunnelStream _client;
    private readonly TunnelStream _server;
    private readonly long _started;
    private CancellationTokenRegistration _cut;
    private CancellationTokenRegistration _alsoCut;
    private int _directionsLeft = 2;

    private ProxiedConnection(ProxyContext context, ILogger logger, ConnectionDescription description, TunnelStream client, TunnelStream server)
    {
        _context = context;
        _logger = logger;
        _client = client;
        _server = server;
        _tracked = context.Connections.Register(description, client, server);
        _started = context.Time.GetTimestamp();
    }

    /// <summary>
    /// Starts relaying between the two ends and returns; both ends are disposed when the relay is over.
    /// <paramref name="cutBy"/> or <paramref name="alsoCutBy"/> firing resets both ends. Never throws: a
    /// connection's end is not the daemon's problem.
    /// </summary>
    public static void Start(ProxyContext context, ConnectionDescription description, TunnelStream client, TunnelStream server, ILogger logger,
        CancellationToken cutBy, CancellationToken alsoCutBy = default)
    {
        new ProxiedConnection(context, logger, description, client, server).Run(cutBy, alsoCutBy);
    }

    private void Run(CancellationToken cutBy, CancellationToken alsoCutBy)
    {
        try
        {
            _context.Observer.Opened(_tracked);
        }
        catch (Exception e)
        {
            // Not relayed after all: reset both ends and release everything as at the end of a relay.
            ProxyLog.RelayFailed(_logger, _tracked.Description.Source, _tracked.Description.Destination, e);
            _tracked.Cut();
            _directionsLeft = 1;
            DirectionEnded(cleanly: false);
            return;
        }
        // One registration per reason to cut, for the connection's whole life; none per read or write. A token
        // that already fired cuts the connection at once (its relay then ends right away).
        _cut = _tracked.CutWhen(cutBy);
        _alsoCut = _tracked.CutWhen(alsoCutBy);
        Relay.Start(_client, _server, _tracked.Counters, this);
    }

    /// <summary>Each direction's end; the second one releases the connection (on its own thread, synchronously).</summary>
    public void DirectionEnded(bool cleanly)
    {
        if (Interlocked.Decrement(ref _directionsLeft) != 0)
        {
            return;
        }
        try
        {
            // Waits for a cut callback running right now, so it never meets disposed ends.
            _cut.Dispose();
            _alsoCut.Dispose();
            _client.Dispose();
            _server.Dispose();
            _context.Observer.Closed(_tracked, _context.Time.GetElapsedTime(_started));
            ProxyLog.Closed(_logger, _tracked.Description.Direction, _tracked.Description.Source, _tracked.Description.Destination,
                _tracked.Counters.ClientToServer, _tracked.Counters.ServerToClient);
        }
        catch (Exception e)
        {
            // Runs at the end of a relay direction, where nobody could observe it.
            ProxyLog.RelayFailed(_logger, _tracked.Description.Source, _tracked.Description.Destination, e);
        }
        finally
        {
            _tracked.Dispose();
        }
    }
}
