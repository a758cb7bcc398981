using System.Collections.Concurrent;

namespace Ztunnel.Telemetry;

/// <summary>
/// Istio's TCP metrics (istio_tcp_connections_opened/closed/failed_total, istio_tcp_sent/received_bytes_total)
/// and ztunnel_authorization_denied_total, one <see cref="TcpSeries"/> per distinct label set. Series are found by
/// their rendered labels without allocating (span lookup); only a label set never seen before allocates.
/// Series are kept for the life of the process, as Prometheus counters must be.
/// </summary>
internal sealed class TcpMetrics : IMetricsCollector
{
    public static readonly MetricFamily Opened = new("istio_tcp_connections_opened_total", "The total number of TCP connections opened", MetricType.Counter);
    public static readonly MetricFamily Closed = new("istio_tcp_connections_closed_total", "The total number of TCP connections closed", MetricType.Counter);
    public static readonly MetricFamily Failed = new("istio_tcp_connections_failed_total", "The total number of TCP connections that failed before any data was relayed, by response_flags", MetricType.Counter);
    public static readonly MetricFamily Sent = new("istio_tcp_sent_bytes_total", "The size of total bytes sent during response in case of a TCP connection", MetricType.Counter);
    public static readonly MetricFamily Received = new("istio_tcp_received_bytes_total", "The size of total bytes received during request in case of a TCP connection", MetricType.Counter);
    public static readonly MetricFamily Denied = new("ztunnel_authorization_denied_total", "Connections denied by authorization, by deciding policy (\"none\" when no ALLOW policy matched and none decided)", MetricType.Counter);

    private readonly ConcurrentDictionary<string, TcpSeries> _series = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TcpSeries>.AlternateLookup<ReadOnlySpan<char>> _seriesBySpan;
    private readonly ConcurrentDictionary<string, DenialSeries> _denials = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DenialSeries>.AlternateLookup<ReadOnlySpan<char>> _denialsBySpan;

    public TcpMetrics()
    {
        _seriesBySpan = _series.GetAlternateLookup<ReadOnlySpan<char>>();
        _denialsBySpan = _denials.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The series of <paramref name="labels"/> (rendered by <see cref="TcpLabels"/>), created on first use.</summary>
    public TcpSeries GetSeries(ReadOnlySpan<char> labels, bool isFailure)
    {
        if (_seriesBySpan.TryGetValue(labels, out TcpSeries? series))
        {
            return series;
        }
        var text = labels.ToString();
        return _series.GetOrAdd(text, static (key, failure) => new TcpSeries(new LabelSet(key), failure), isFailure);
    }

    /// <summary>Counts a denial under <paramref name="labels"/> (policy and destination labels).</summary>
    public void CountDenial(ReadOnlySpan<char> labels)
    {
        if (!_denialsBySpan.TryGetValue(labels, out DenialSeries? series))
        {
            series = _denials.GetOrAdd(labels.ToString(), static key => new DenialSeries(new LabelSet(key)));
        }
        Interlocked.Increment(ref series.Count);
    }

    public int SeriesCount => _series.Count;

    public void Collect(PrometheusWriter writer)
    {
        WriteFamily(writer, Opened, static s => s.IsFailure ? null : Interlocked.Read(ref s.Opened));
        WriteFamily(writer, Closed, static s => Interlocked.Read(ref s.Closed));
        WriteFamily(writer, Failed, static s => s.IsFailure ? Interlocked.Read(ref s.Failed) : null);
        WriteFamily(writer, Sent, static s => s.IsFailure ? null : Interlocked.Read(ref s.Sent));
        WriteFamily(writer, Received, static s => s.IsFailure ? null : Interlocked.Read(ref s.Received));
        writer.WriteHeader(Denied);
        foreach (KeyValuePair<string, DenialSeries> denial in _denials)
        {
            writer.WriteSample(Denied, denial.Value.Labels, Interlocked.Read(ref denial.Value.Count));
        }
    }

    // Static lambdas: no closure per scrape. A series not carrying the family (null) writes no sample.
    private void WriteFamily(PrometheusWriter writer, MetricFamily family, Func<TcpSeries, long?> value)
    {
        writer.WriteHeader(family);
        // Enumerating the dictionary itself: .Values would copy every series per family.
        foreach (KeyValuePair<string, TcpSeries> series in _series)
        {
            if (value(series.Value) is { } v)
            {
                writer.WriteSample(family, series.Value.Labels, v);
            }
        }
    }

    internal sealed class DenialSeries(LabelSet labels)
    {
        internal long Count;

        public LabelSet Labels { get; } = labels;
    }
}
