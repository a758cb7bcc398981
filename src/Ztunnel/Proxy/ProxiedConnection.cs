using Microsoft.Extensions.Logging;
using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>Runs the relay of one tracked connection and releases everything afterwards.</summary>
internal static class ProxiedConnection
{
    /// <summary>
    /// Relays between the two ends under the tracker (so drains and policy re-checks can cut it), then
    /// disposes both ends. Cancelling <paramref name="cancellationToken"/> or <paramref name="alsoCutBy"/>
    /// resets both ends. Never throws: a connection's end is not the daemon's problem.
    /// </summary>
    public static async Task RelayAsync(ProxyContext context, ConnectionDescription description, TunnelStream client, TunnelStream server, ILogger logger,
        CancellationToken cancellationToken, CancellationToken alsoCutBy = default)
    {
        using TrackedConnection tracked = context.Connections.Register(description);
        // One token source per connection for every reason to cut it (the caller's, the tracker's, a failed
        // direction inside the relay): linking them once here is cheaper than a linked source per layer.
        using CancellationTokenSource cut = alsoCutBy.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource([cancellationToken, alsoCutBy, tracked.ClosedToken])
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, tracked.ClosedToken);
        long started = context.Time.GetTimestamp();
        context.Observer.Opened(tracked);
        try
        {
            // A reset (cut by the daemon, the pod going away, or an error on either side) already reset both ends.
            await Relay.RunAsync(client, server, tracked.Counters, cut);
        }
        finally
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
            context.Observer.Closed(tracked, context.Time.GetElapsedTime(started));
            ProxyLog.Closed(logger, description.Direction, description.Source, description.Destination,
                tracked.Counters.ClientToServer, tracked.Counters.ServerToClient);
        }
    }
}
