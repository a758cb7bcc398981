namespace Ztunnel.Telemetry;

/// <summary>The Prometheus metric types the daemon exports (text exposition format 0.0.4 <c># TYPE</c> values).</summary>
internal enum MetricType
{
    Counter,
    Gauge,
}
