using Ztunnel.Discovery;
using Ztunnel.Proxy;

namespace Ztunnel.Telemetry;

/// <summary>
/// What telemetry resolved about one connection when it opened (the peers, the label set's series) and how
/// many of its relayed bytes were already added to the series. One small object per connection.
/// </summary>
internal sealed class ConnectionRecord
{
    private long _foldedClientToServer;
    private long _foldedServerToClient;

    public ConnectionRecord(ConnectionPeers peers, TcpSeries series)
    {
        Peers = peers;
        Series = series;
    }

    public ConnectionPeers Peers { get; }
    public TcpSeries Series { get; }

    /// <summary>
    /// Adds the bytes relayed since the last fold to the series (so counters advance while data flows).
    /// Serialized per connection: a scrape and the close may fold at once, and a counter must never dip.
    /// </summary>
    public void Fold(RelayCounters counters)
    {
        // Locking the record itself (internal to telemetry, never handed out) saves a lock object per connection;
        // the lock is uncontended except when a scrape meets the close.
        lock (this)
        {
            long clientToServer = counters.ClientToServer;
            long serverToClient = counters.ServerToClient;
            // Istio: received = bytes of the request (client to server), sent = bytes of the response.
            long received = clientToServer - _foldedClientToServer;
            long sent = serverToClient - _foldedServerToClient;
            if (received != 0)
            {
                Interlocked.Add(ref Series.Received, received);
                _foldedClientToServer = clientToServer;
            }
            if (sent != 0)
            {
                Interlocked.Add(ref Series.Sent, sent);
                _foldedServerToClient = serverToClient;
            }
        }
    }
}
