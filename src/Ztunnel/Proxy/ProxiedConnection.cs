using Microsoft.Extensions.Logging;
using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>Runs the relay of one tracked connection and releases everything afterwards.</summary>
internal static class ProxiedConnection
{
    /// <summary>
    /// Relays between the two ends under the tracker (so drains and policy re-checks can cut it), then
    /// disposes both ends. <paramref name="cutBy"/> or <paramref name="alsoCutBy"/> firing resets both ends.
    /// Never throws: a connection's end is not the daemon's problem.
    /// </summary>
    public static async Task RelayAsync(ProxyContext context, ConnectionDescription description, TunnelStream client, TunnelStream server, ILogger logger,
        CancellationToken cutBy, CancellationToken alsoCutBy = default)
    {
        using TrackedConnection tracked = context.Connections.Register(description, client, server);
        // One registration per reason to cut, for the connection's whole life; none per read or write.
        CancellationTokenRegistration cut = tracked.CutWhen(cutBy);
        CancellationTokenRegistration alsoCut = tracked.CutWhen(alsoCutBy);
        long started = context.Time.GetTimestamp();
        context.Observer.Opened(tracked);
        try
        {
            // A reset (cut by the daemon, the pod going away, or an error on either side) already reset both ends.
            await Relay.RunAsync(client, server, tracked.Counters);
        }
        finally
        {
            await cut.DisposeAsync();
            await alsoCut.DisposeAsync();
            await client.DisposeAsync();
            await server.DisposeAsync();
            context.Observer.Closed(tracked, context.Time.GetElapsedTime(started));
            ProxyLog.Closed(logger, description.Direction, description.Source, description.Destination,
                tracked.Counters.ClientToServer, tracked.Counters.ServerToClient);
        }
    }
}
