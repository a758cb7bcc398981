using System.Buffers;
using System.Text;
using Ztunnel.Telemetry;

namespace Ztunnel.Tests.Telemetry;

public sealed class PrometheusWriterTests
{
    private static readonly MetricFamily Requests = new("test_requests_total", "Requests\\served\nsince start", MetricType.Counter);
    private static readonly MetricFamily Temperature = new("test_temperature", "A gauge", MetricType.Gauge);

    [Fact]
    public void Family_WritesHelpAndType_WithHelpEscaped()
    {
        string text = Write(w =>
        {
            w.WriteHeader(Requests);
            w.WriteSample(Requests, LabelSet.Empty, 3);
        });

        text.ShouldBe("# HELP test_requests_total Requests\\\\served\\nsince start\n# TYPE test_requests_total counter\ntest_requests_total 3\n");
    }

    [Fact]
    public void LabelValues_AreEscaped_AndRoundTrip()
    {
        LabelSet labels = LabelSet.Of(("path", "C:\\dir"), ("quote", "say \"hi\""), ("lines", "a\nb"));
        string text = Write(w =>
        {
            w.WriteHeader(Requests);
            w.WriteSample(Requests, labels, 1);
        });

        text.ShouldContain("test_requests_total{path=\"C:\\\\dir\",quote=\"say \\\"hi\\\"\",lines=\"a\\nb\"} 1\n");
        var parsed = new Exposition(text).Labels("test_requests_total");
        parsed["path"].ShouldBe("C:\\dir");
        parsed["quote"].ShouldBe("say \"hi\"");
        parsed["lines"].ShouldBe("a\nb");
    }

    [Fact]
    public void MissingLabelValue_IsUnknown()
    {
        LabelSet.Of(("source_workload", "")).Text.ShouldBe("{source_workload=\"unknown\"}");
    }

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e21, "1E+21")]
    public void Doubles_UseExpositionSpelling(double value, string expected)
    {
        Write(w => w.Write(Temperature, value)).ShouldEndWith($"test_temperature {expected}\n");
    }

    [Fact]
    public void Counter_WithoutTotalSuffix_IsRejected()
    {
        var ex = Should.Throw<ArgumentException>(() => new MetricFamily("test_requests", "x", MetricType.Counter));
        ex.Message.ShouldContain("test_requests");
        ex.Message.ShouldContain("_total");
    }

    [Theory]
    [InlineData("9lives")]
    [InlineData("has-dash")]
    [InlineData("")]
    public void InvalidName_IsRejected(string name)
    {
        Should.Throw<ArgumentException>(() => new MetricFamily(name, "x", MetricType.Gauge)).Message.ShouldContain("not a valid Prometheus name");
    }

    private static string Write(Action<PrometheusWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new PrometheusWriter(buffer));
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
