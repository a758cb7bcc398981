using System.Diagnostics;
using System.Globalization;

namespace Ztunnel.LoadGen;

/// <summary>
/// Latency samples in a preallocated array (no allocation while measuring), percentiles at the end.
/// Samples beyond the capacity are counted but not kept, so a very fast run cannot run out of memory.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly long[] _ticks;
    private int _kept;

    public LatencyRecorder(int capacity) => _ticks = new long[capacity];

    public long Count { get; private set; }

    public void Add(long elapsedTicks)
    {
        Count++;
        if (_kept < _ticks.Length)
        {
            _ticks[_kept++] = elapsedTicks;
        }
    }

    /// <summary>Merges per-thread recorders (after their threads finished).</summary>
    public static LatencyRecorder Merge(IReadOnlyList<LatencyRecorder> parts)
    {
        int kept = 0;
        foreach (LatencyRecorder part in parts)
        {
            kept += part._kept;
        }
        var all = new LatencyRecorder(Math.Max(kept, 1));
        foreach (LatencyRecorder part in parts)
        {
            Array.Copy(part._ticks, 0, all._ticks, all._kept, part._kept);
            all._kept += part._kept;
            all.Count += part.Count;
        }
        return all;
    }

    /// <summary><c>p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=..</c>; sorts the samples.</summary>
    public string Summary()
    {
        if (_kept == 0)
        {
            return "p50_us=nan p90_us=nan p99_us=nan p999_us=nan max_us=nan";
        }
        Array.Sort(_ticks, 0, _kept);
        return string.Create(CultureInfo.InvariantCulture,
            $"p50_us={Micros(0.50):F1} p90_us={Micros(0.90):F1} p99_us={Micros(0.99):F1} p999_us={Micros(0.999):F1} max_us={ToMicros(_ticks[_kept - 1]):F1}");
    }

    private double Micros(double quantile) => ToMicros(_ticks[Math.Min(_kept - 1, (int)(quantile * _kept))]);

    private static double ToMicros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
}
