using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Daemon.Logging;

public sealed class JsonLineFormatterTests
{
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("10.1.2.3"), 15008);

    [Theory]
    [InlineData("say \"hi\"")]
    [InlineData("back\\slash")]
    [InlineData("two\nlines\r\n")]
    [InlineData("tab\tbell\u0007nul\u0000esc\u001b")]
    [InlineData("ünïcødé <&> 😀 \u2028")]
    public void Value_WithCharactersJsonMustEscape_IsOneLine_AndParsesBackToTheSameString(string value)
    {
        using var capture = new LogCapture(AccessLogFormat.Json);

        TestEvents.Value(capture.Logger(), value, Peer);

        string line = capture.Lines.ShouldHaveSingleItem();
        capture.Text.ShouldBe(line + "\n");   // the value's own newlines are escaped, not written
        JsonElement root = JsonDocument.Parse(line).RootElement;
        root.GetProperty("Properties").GetProperty("Value").GetString().ShouldBe(value);
        root.GetProperty("RenderedMessage").GetString().ShouldBe($"value \"{value.Replace("\"", "\\\"", StringComparison.Ordinal)}\" from \"10.1.2.3:15008\"");
    }

    [Fact]
    public void Line_HasSerilogsFields_WithEventIdAndSourceContextInProperties()
    {
        using var capture = new LogCapture(AccessLogFormat.Json);

        TestEvents.Value(capture.Logger("Ztunnel.Proxy.Outbound"), null, Peer);

        JsonElement root = JsonDocument.Parse(capture.Lines.ShouldHaveSingleItem()).RootElement;
        root.GetProperty("Timestamp").GetString().ShouldBe("2026-11-21T16:23:17.2281234+00:00");
        root.GetProperty("Level").GetString().ShouldBe("Information");
        root.GetProperty("MessageTemplate").GetString().ShouldBe("value {Value} from {Peer}");
        root.GetProperty("RenderedMessage").GetString().ShouldBe("value null from \"10.1.2.3:15008\"");
        root.TryGetProperty("Exception", out _).ShouldBeFalse();
        JsonElement p = root.GetProperty("Properties");
        p.GetProperty("Value").ValueKind.ShouldBe(JsonValueKind.Null);
        p.GetProperty("Peer").GetString().ShouldBe("10.1.2.3:15008");
        p.GetProperty("EventId").GetProperty("Id").GetInt32().ShouldBe(42);
        p.GetProperty("EventId").GetProperty("Name").GetString().ShouldBe("Value");
        p.GetProperty("SourceContext").GetString().ShouldBe("Ztunnel.Proxy.Outbound");
    }

    [Fact]
    public void Exception_IsItsFullText_InExceptionField()
    {
        using var capture = new LogCapture(AccessLogFormat.Json);
        var exception = new InvalidOperationException("handshake \"failed\"", new IOException("reset by peer"));

        TestEvents.Failed(capture.Logger(), exception, "httpbin");

        JsonElement root = JsonDocument.Parse(capture.Lines.ShouldHaveSingleItem()).RootElement;
        root.GetProperty("Level").GetString().ShouldBe("Error");
        root.GetProperty("Exception").GetString().ShouldBe(exception.ToString());
    }

    [Fact]
    public void Numbers_AreJsonNumbers_FormattedHolesGetRenderings_NonFiniteIsAString()
    {
        using var capture = new LogCapture(AccessLogFormat.Json);

        TestEvents.Took(capture.Logger(), 12.345, 9_000_000_000L, true, double.NaN);

        JsonElement root = JsonDocument.Parse(capture.Lines.ShouldHaveSingleItem()).RootElement;
        root.GetProperty("RenderedMessage").GetString().ShouldBe("took 12.3 ms, 9000000000 items, ok=True, ratio=NaN");
        JsonElement p = root.GetProperty("Properties");
        p.GetProperty("Milliseconds").GetDouble().ShouldBe(12.345);
        p.GetProperty("Count").GetInt64().ShouldBe(9_000_000_000L);
        p.GetProperty("Ok").GetBoolean().ShouldBeTrue();
        p.GetProperty("Ratio").GetString().ShouldBe("NaN");
        JsonElement rendering = root.GetProperty("Renderings").GetProperty("Milliseconds").EnumerateArray().ShouldHaveSingleItem();
        rendering.GetProperty("Format").GetString().ShouldBe("F1");
        rendering.GetProperty("Rendering").GetString().ShouldBe("12.3");
    }

    [Fact]
    public void NoEventId_NoEventIdProperty()
    {
        using var capture = new LogCapture(AccessLogFormat.Json);

#pragma warning disable CA1848 // the extension method on purpose: it logs without an event id
        capture.Logger().LogWarning("plain {Thing}", "x");
#pragma warning restore CA1848

        JsonElement p = JsonDocument.Parse(capture.Lines.ShouldHaveSingleItem()).RootElement.GetProperty("Properties");
        p.TryGetProperty("EventId", out _).ShouldBeFalse();
        p.GetProperty("Thing").GetString().ShouldBe("x");
    }

    [Theory]
    [InlineData("10.0.0.1", 80)]
    [InlineData("fd00::1", 15008)]
    [InlineData("fe80::1%2", 0)]
    [InlineData("::ffff:10.0.0.1", 65535)]
    public void EndPoint_IsWrittenAsItsToString_InTextAndJson(string address, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);
        using var json = new LogCapture(AccessLogFormat.Json);
        using var text = new LogCapture(AccessLogFormat.Text);

        TestEvents.Value(json.Logger(), "v", endPoint);
        TestEvents.Value(text.Logger(), "v", endPoint);

        JsonElement root = JsonDocument.Parse(json.Lines.ShouldHaveSingleItem()).RootElement;
        root.GetProperty("Properties").GetProperty("Peer").GetString().ShouldBe(endPoint.ToString());
        root.GetProperty("RenderedMessage").GetString().ShouldBe($"value \"v\" from \"{endPoint}\"");
        text.Lines.ShouldHaveSingleItem().ShouldEndWith($": value v from {endPoint}");
    }
}
