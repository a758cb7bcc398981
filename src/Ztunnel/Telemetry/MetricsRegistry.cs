using System.Buffers;

namespace Ztunnel.Telemetry;

/// <summary>The collectors a scrape asks, in registration order. Family names must be unique across them.</summary>
internal sealed class MetricsRegistry
{
    private readonly List<IMetricsCollector> _collectors = [];
    private readonly Lock _lock = new();

    public void Add(IMetricsCollector collector)
    {
        lock (_lock)
        {
            _collectors.Add(collector);
        }
    }

    /// <summary>Writes the whole exposition to <paramref name="output"/>.</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        var writer = new PrometheusWriter(output);
        // Scrapes are serialized: collectors fold live connection counters and must not interleave.
        lock (_lock)
        {
            foreach (IMetricsCollector collector in _collectors)
            {
                collector.Collect(writer);
            }
        }
    }

    /// <summary>The exposition as a string (tests, the admin index).</summary>
    public string Scrape()
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        WriteTo(buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
