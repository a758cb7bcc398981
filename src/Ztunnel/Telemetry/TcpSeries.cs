namespace Ztunnel.Telemetry;

/// <summary>
/// The istio_tcp_* counters of one label set. Fields are updated with Interlocked (once per connection event,
/// and by folding live byte counts at scrape time), never per chunk.
/// </summary>
internal sealed class TcpSeries
{
    internal long Opened;
    internal long Closed;
    internal long Failed;
    internal long Sent;
    internal long Received;

    public TcpSeries(LabelSet labels, bool isFailure)
    {
        Labels = labels;
        IsFailure = isFailure;
    }

    public LabelSet Labels { get; }

    /// <summary>
    /// True for a series whose response_flags names a failure: it carries connections_closed and
    /// connections_failed only (as in Istio, the opened and byte counters stay on the "-" series).
    /// </summary>
    public bool IsFailure { get; }
}
