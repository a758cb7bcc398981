namespace Ztunnel.Telemetry;

/// <summary>Something that contributes whole metric families to a scrape.</summary>
internal interface IMetricsCollector
{
    /// <summary>Writes this collector's families (header, then all samples of each). Called on the scrape thread.</summary>
    void Collect(PrometheusWriter writer);
}
