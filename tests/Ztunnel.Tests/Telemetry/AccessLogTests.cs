using System.Text.Json;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Json;
using Ztunnel.Proxy;
using Ztunnel.Telemetry;

namespace Ztunnel.Tests.Telemetry;

/// <summary>The access log through the daemon's real pipeline pieces: Serilog with its JSON formatter.</summary>
public sealed class AccessLogTests : IDisposable
{
    private readonly LineSink _sink = new();
    private readonly Serilog.Core.Logger _serilog;
    private readonly TelemetryFixture _fixture;

    public AccessLogTests()
    {
        _serilog = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(_sink).CreateLogger();
        _fixture = new TelemetryFixture(new SerilogLoggerFactory(_serilog));
    }

    public void Dispose() => _serilog.Dispose();

    [Fact]
    public void ClosedConnection_WritesOneJsonLine_WithPeersBytesAndDuration()
    {
        TrackedConnection connection = _fixture.Tracker.Register(TelemetryFixture.OutboundHbone());
        _fixture.Telemetry.Opened(connection);
        connection.Counters.AddClientToServer(11);
        connection.Counters.AddServerToClient(2222);
        _fixture.Telemetry.Closed(connection, TimeSpan.FromMilliseconds(1234));

        JsonElement line = _sink.Lines.ShouldHaveSingleItem();
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

        JsonElement line = _sink.Lines.ShouldHaveSingleItem();
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

        JsonElement p = _sink.Lines.ShouldHaveSingleItem().GetProperty("Properties");
        p.GetProperty("Reason").GetString().ShouldBe("policy changed: no ALLOW matched");
        p.GetProperty("SrcIdentity").GetString().ShouldBe("-");   // plaintext: nobody was verified
    }

    /// <summary>Formats every event with the daemon's JSON formatter, one parsed line per event.</summary>
    private sealed class LineSink : ILogEventSink
    {
        private readonly JsonFormatter _formatter = new(renderMessage: true);
        private readonly List<JsonElement> _lines = [];

        public IReadOnlyList<JsonElement> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public void Emit(LogEvent logEvent)
        {
            var text = new StringWriter();
            _formatter.Format(logEvent, text);
            lock (_lines)
            {
                _lines.Add(JsonDocument.Parse(text.ToString()).RootElement.Clone());
            }
        }
    }
}
