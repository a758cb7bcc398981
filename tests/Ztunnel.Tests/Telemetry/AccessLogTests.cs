using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Ztunnel.Daemon;
using Ztunnel.Discovery;
using Ztunnel.Proxy;
using Ztunnel.Telemetry;

namespace Ztunnel.Tests.Telemetry;

/// <summary>The access log through the daemon's real log pipeline, in its JSON format.</summary>
public sealed class AccessLogTests : IDisposable
{
    private readonly MemoryStream _output = new();
    private readonly DaemonLogging _logging;
    private readonly TelemetryFixture _fixture;

    public AccessLogTests()
    {
        _logging = new DaemonLogging(LogLevel.Information, AccessLogFormat.Json, _output);
        _fixture = new TelemetryFixture(_logging.Factory);
    }

    public void Dispose() => _logging.Dispose();

    [Fact]
    public void ClosedConnection_WritesOneJsonLine_WithPeersBytesAndDuration()
    {
        TrackedConnection connection = _fixture.Tracker.Register(TelemetryFixture.OutboundHbone());
        _fixture.Telemetry.Opened(connection);
        connection.Counters.AddClientToServer(11);
        connection.Counters.AddServerToClient(2222);
        _fixture.Telemetry.Closed(connection, TimeSpan.FromMilliseconds(1234));

        JsonElement line = Lines.ShouldHaveSingleItem();
        JsonElement p = line.GetProperty("Properties");
        p.GetProperty("SourceContext").GetString().ShouldBe(AccessLog.Category);
        line.GetProperty("Level").GetString().ShouldBe("Information");
        p.GetProperty("SrcAddr").GetString().ShouldBe("10.0.0.1:40000");
        p.GetProperty("SrcWorkload").GetString().ShouldBe("sleep");
        p.GetProperty("SrcNamespace").GetString().ShouldBe("app");
        p.GetProperty("SrcIdentity").GetString().ShouldBe("spiffe://cluster.local/ns/app/sa/sleep");
        p.GetProperty("DstAddr").GetString().ShouldBe("10.0.0.2:8080");
        p.GetProperty("DstService").GetString().ShouldBe("httpbin.web.svc.cluster.local");
        p.GetProperty("DstWorkload").GetString().ShouldBe("httpbin");
        p.GetProperty("DstIdentity").GetString().ShouldBe("spiffe://cluster.local/ns/web/sa/httpbin");
        p.GetProperty("Direction").GetString().ShouldBe("outbound");
        p.GetProperty("BytesSent").GetInt64().ShouldBe(11);      // the outbound proxy sent what the client wrote
        p.GetProperty("BytesRecv").GetInt64().ShouldBe(2222);
        p.GetProperty("DurationMs").GetInt64().ShouldBe(1234);
        p.GetProperty("ResponseFlags").GetString().ShouldBe("-");
    }

    [Fact]
    public void DeniedConnection_NamesTheDenyingPolicy()
    {
        _fixture.Telemetry.Failed(TelemetryFixture.InboundHbone(), ConnectionFailure.Denied, "denied by DENY policy web/no-sleep rule 0", "web/no-sleep");

        JsonElement line = Lines.ShouldHaveSingleItem();
        JsonElement p = line.GetProperty("Properties");
        p.GetProperty("ResponseFlags").GetString().ShouldBe("DENY");
        p.GetProperty("Policy").GetString().ShouldBe("web/no-sleep");
        p.GetProperty("Reason").GetString().ShouldBe("denied by DENY policy web/no-sleep rule 0");
        p.GetProperty("Direction").GetString().ShouldBe("inbound");
        line.GetProperty("RenderedMessage").GetString()!.ShouldStartWith("connection failed src.addr=\"10.0.0.1:40000\" src.workload=\"sleep\"");
    }

    [Fact]
    public void CutConnection_SaysWhy()
    {
        TrackedConnection connection = _fixture.Tracker.Register(TelemetryFixture.InboundPlaintext());
        _fixture.Telemetry.Opened(connection);
        connection.Close("policy changed: no ALLOW matched");
        _fixture.Telemetry.Closed(connection, TimeSpan.FromSeconds(2));

        JsonElement p = Lines.ShouldHaveSingleItem().GetProperty("Properties");
        p.GetProperty("Reason").GetString().ShouldBe("policy changed: no ALLOW matched");
        p.GetProperty("SrcIdentity").GetString().ShouldBe("-");   // plaintext: nobody was verified
    }

    [Fact]
    public void TextFormat_ClosedConnection_IsOneLine_WithTheFieldsInline()
    {
        var output = new MemoryStream();
        using var logging = new DaemonLogging(LogLevel.Information, AccessLogFormat.Text, output);
        var fixture = new TelemetryFixture(logging.Factory);
        TrackedConnection connection = fixture.Tracker.Register(TelemetryFixture.OutboundHbone());
        fixture.Telemetry.Opened(connection);
        fixture.Telemetry.Closed(connection, TimeSpan.FromMilliseconds(5));

        string line = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).ShouldHaveSingleItem();
        line.ShouldMatch(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO Ztunnel\.AccessLog: connection complete src\.addr=10\.0\.0\.1:40000 src\.workload=sleep ");
        line.ShouldContain(" duration=5ms response_flags=- reason=-");
    }

    /// <summary>Every line written so far, parsed.</summary>
    private List<JsonElement> Lines
    {
        get
        {
            var lines = new List<JsonElement>();
            foreach (string line in Encoding.UTF8.GetString(_output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                lines.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
            return lines;
        }
    }
}
