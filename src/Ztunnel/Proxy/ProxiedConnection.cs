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
            // Relay.RunAsync's two directions, joined here rather than in a frame of its own: this method waits for
            // the connection's whole life anyway, and every frame that waits with it is memory a held connection
            // keeps. A reset (cut by the daemon, the pod going away, an error on either side) resets both ends.
            Task<bool> down = Relay.CopyAsync(server, client, tracked.Counters, toServer: false);
            await Relay.CopyAsync(client, server, tracked.Counters, toServer: true);
            await down;
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
