using System.Buffers;
using System.Globalization;

namespace Ztunnel.Telemetry;

/// <summary>
/// Writes the Prometheus text exposition format 0.0.4 into a buffer writer (a pooled buffer, or Kestrel's
/// response PipeWriter): a family header, then one <c>name{labels} value</c> line per series.
/// Numbers are formatted straight into the output; nothing is allocated per sample.
/// </summary>
internal sealed class PrometheusWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly IBufferWriter<byte> _output;

    public PrometheusWriter(IBufferWriter<byte> output)
    {
        _output = output;
    }

    /// <summary>The <c># HELP</c> and <c># TYPE</c> lines; all samples of the family must follow before the next family.</summary>
    public void WriteHeader(MetricFamily family) => _output.Write(family.Header);

    public void WriteSample(MetricFamily family, LabelSet labels, long value)
    {
        WriteName(family, labels);
        Span<byte> span = _output.GetSpan(21);
        value.TryFormat(span, out int written, default, CultureInfo.InvariantCulture);
        span[written++] = (byte)'\n';
        _output.Advance(written);
    }

    public void WriteSample(MetricFamily family, LabelSet labels, double value)
    {
        WriteName(family, labels);
        Span<byte> span = _output.GetSpan(34);
        int written;
        if (double.IsNaN(value))
        {
            "NaN"u8.CopyTo(span);
            written = 3;
        }
        else if (double.IsInfinity(value))
        {
            ReadOnlySpan<byte> text = value > 0 ? "+Inf"u8 : "-Inf"u8;
            text.CopyTo(span);
            written = text.Length;
        }
        else
        {
            // "R": shortest text that parses back to the same double (Go's ParseFloat reads it).
            value.TryFormat(span, out written, "R", CultureInfo.InvariantCulture);
        }
        span[written++] = (byte)'\n';
        _output.Advance(written);
    }

    /// <summary>A family with one unlabelled sample.</summary>
    public void Write(MetricFamily family, long value)
    {
        WriteHeader(family);
        WriteSample(family, LabelSet.Empty, value);
    }

    /// <summary>A family with one unlabelled sample.</summary>
    public void Write(MetricFamily family, double value)
    {
        WriteHeader(family);
        WriteSample(family, LabelSet.Empty, value);
    }

    private void WriteName(MetricFamily family, LabelSet labels)
    {
        _output.Write(family.NameUtf8);
        if (labels.Utf8.Length > 0)
        {
            _output.Write(labels.Utf8);
        }
        _output.Write(" "u8);
    }
}
