using Ztunnel.Discovery;
using Ztunnel.Proxy;

namespace Ztunnel.Telemetry;

/// <summary>
/// The proxy's connection observer: metrics and access log. Per connection it resolves the peers and finds the
/// series once (in <see cref="Opened"/>: from <see cref="TcpSeriesCache"/>, or by rendering the label set) and keeps
/// them in a <see cref="ConnectionRecord"/>; nothing happens per chunk. Byte counters of live connections are folded into the totals at every scrape, so long
/// connections show on dashboards while they run.
/// </summary>
/// <remarks>
/// Semantics follow Istio's ztunnel: a connection refused before relaying counts as opened (response_flags "-")
/// and closed with its flag, so opened minus closed stays the number of live connections; it also counts in
/// istio_tcp_connections_failed_total under its flag.
/// </remarks>
internal sealed class ConnectionTelemetry : IConnectionObserver, IMetricsCollector
{
    private const int LabelCapacity = 1024;

    private readonly StateStore _state;
    private readonly ConnectionTracker _connections;
    private readonly string _trustDomain;
    private readonly string _clusterId;
    private readonly AccessLog? _accessLog;
    private readonly TcpSeriesCache _seriesCache = new();

    public ConnectionTelemetry(StateStore state, ConnectionTracker connections, string trustDomain, AccessLog? accessLog, string clusterId = TcpLabels.DefaultClusterId)
    {
        _state = state;
        _connections = connections;
        _trustDomain = trustDomain;
        _accessLog = accessLog;
        _clusterId = clusterId;
    }

    public TcpMetrics Metrics { get; } = new();

    public void Opened(TrackedConnection connection)
    {
        ConnectionPeers peers = ConnectionPeers.Resolve(connection.Description, _state.Current, _trustDomain);
        TcpSeries series = Series(peers, ResponseFlags.None);
        Interlocked.Increment(ref series.Opened);
        connection.ObserverState = new ConnectionRecord(peers, series);
    }

    public void Closed(TrackedConnection connection, TimeSpan duration)
    {
        if (connection.ObserverState is not ConnectionRecord record)
        {
            return; // Opened before telemetry was attached.
        }
        record.Fold(connection.Counters);
        if (connection.CloseFailure is { } failure)
        {
            // Cut by the daemon for a reason that is a failure (a policy re-check denied it): the close
            // carries that flag, like a connection refused up front, and a deny counts against its policy.
            Interlocked.Increment(ref Series(record.Peers, ResponseFlags.For(failure)).Closed);
            if (failure == ConnectionFailure.Denied)
            {
                CountDenial(record.Peers, connection.ClosePolicy);
            }
        }
        else
        {
            Interlocked.Increment(ref record.Series.Closed);
        }
        _accessLog?.Completed(record.Peers, connection.Counters.ClientToServer, connection.Counters.ServerToClient, duration, connection.CloseReason);
    }

    public void Failed(ConnectionDescription description, ConnectionFailure failure, string reason, string? policy)
    {
        ConnectionPeers peers = ConnectionPeers.Resolve(description, _state.Current, _trustDomain);
        string flags = ResponseFlags.For(failure);
        Interlocked.Increment(ref Series(peers, ResponseFlags.None).Opened);
        TcpSeries failed = Series(peers, flags);
        Interlocked.Increment(ref failed.Closed);
        Interlocked.Increment(ref failed.Failed);
        if (failure == ConnectionFailure.Denied)
        {
            CountDenial(peers, policy);
        }
        _accessLog?.Failed(peers, flags, reason, policy);
    }

    public void Collect(PrometheusWriter writer)
    {
        foreach (TrackedConnection connection in _connections.Snapshot())
        {
            if (connection.ObserverState is ConnectionRecord record)
            {
                record.Fold(connection.Counters);
            }
        }
        Metrics.Collect(writer);
    }

    private TcpSeries Series(in ConnectionPeers peers, string responseFlags)
    {
        if (_seriesCache.TryGet(peers, responseFlags, out TcpSeries series))
        {
            return series;
        }
        var labels = new LabelWriter(LabelCapacity);
        try
        {
            TcpLabels.Render(ref labels, peers, responseFlags, _clusterId);
            series = Metrics.GetSeries(labels.Complete(), isFailure: responseFlags != ResponseFlags.None);
        }
        finally
        {
            labels.Dispose();
        }
        _seriesCache.Add(peers, responseFlags, series);
        return series;
    }

    private void CountDenial(in ConnectionPeers peers, string? policy)
    {
        var labels = new LabelWriter(256);
        try
        {
            labels.Add("reporter", peers.Reporter);
            labels.Add("policy", policy ?? "none");
            labels.Add("destination_workload", peers.Destination?.Name);
            labels.Add("destination_workload_namespace", peers.Destination?.Namespace ?? peers.Description.DestinationNamespace);
            Metrics.CountDenial(labels.Complete());
        }
        finally
        {
            labels.Dispose();
        }
    }
}
