using Microsoft.Extensions.Logging;
using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>Runs the relay of one tracked connection and releases everything afterwards.</summary>
internal static class ProxiedConnection
{
    /// <summary>
    /// Relays between the two ends under the tracker (so drains and policy re-checks can cut it), then
    /// disposes both ends. Never throws: a connection's end is not the daemon's problem.
    /// </summary>
    public static async Task RelayAsync(ProxyContext context, ConnectionDescription description, TunnelStream client, TunnelStream server, ILogger logger, CancellationToken cancellationToken)
    {
        using TrackedConnection tracked = context.Connections.Register(description);
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, tracked.ClosedToken);
        long started = context.Time.GetTimestamp();
        context.Observer.Opened(tracked);
        try
        {
            await Relay.RunAsync(client, server, tracked.Counters, cut.Token);
        }
        catch (OperationCanceledException)
        {
            // Cut by the daemon (drain, policy) or the pod going away; both ends were reset.
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
