using System.Net;
using Microsoft.Extensions.Logging;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Daemon.Logging;

public sealed class TextLineFormatterTests
{
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("10.1.2.3"), 15008);

    [Fact]
    public void Line_IsTimestampLevelCategoryMessage_StringsUnquoted()
    {
        using var capture = new LogCapture(AccessLogFormat.Text);

        TestEvents.Value(capture.Logger("Ztunnel.Proxy.Outbound"), "say \"hi\"", Peer);

        capture.Text.ShouldBe("2026-11-21T16:23:17.228Z INFO Ztunnel.Proxy.Outbound: value say \"hi\" from 10.1.2.3:15008\n");
    }

    [Fact]
    public void Exception_FollowsOnTheNextLines()
    {
        using var capture = new LogCapture(AccessLogFormat.Text);
        var exception = new InvalidOperationException("handshake failed", new IOException("reset by peer"));

        TestEvents.Failed(capture.Logger(), exception, "httpbin");

        capture.Text.ShouldBe($"2026-11-21T16:23:17.228Z EROR Ztunnel.Test: request to httpbin failed\n{exception}\n");
    }

    [Fact]
    public void Values_NullBoolFormatAndLevel_AsSerilogRenderedThem()
    {
        using var capture = new LogCapture(AccessLogFormat.Text);

        TestEvents.Took(capture.Logger(), 12.345, 7, false, 0.5);
        TestEvents.Value(capture.Logger(), null, Peer);

        capture.Lines.ShouldBe([
            "2026-11-21T16:23:17.228Z DBUG Ztunnel.Test: took 12.3 ms, 7 items, ok=False, ratio=0.5",
            "2026-11-21T16:23:17.228Z INFO Ztunnel.Test: value null from 10.1.2.3:15008",
        ]);
    }

    [Fact]
    public void Template_DoubledBraces_AreLiteralBraces()
    {
        using var capture = new LogCapture(AccessLogFormat.Text);

#pragma warning disable CA1848 // the extension method on purpose: MEL's own state
        capture.Logger().LogInformation("literal {{braces}} {Text} }}", "x");
#pragma warning restore CA1848

        capture.Text.ShouldBe("2026-11-21T16:23:17.228Z INFO Ztunnel.Test: literal {braces} x }\n");
    }
}
