using System.Text.Json;

namespace Ztunnel.E2E.Interop;

/// <summary>Node's http2 (nghttp2) as an independent HBONE client against our HBONE server (Http2ServerConnection).</summary>
public sealed class NodeClientToHboneServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Interop", "node_hbone_client.js");

    private static Task<JsonElement> RunNodeAsync(HboneServerFixture server, string mode, string authority, bool withCertificate = true, int bytes = 0) =>
        PeerProcess.RunJsonAsync("node",
        [
            Script, mode, "127.0.0.1", server.EndPoint.Port.ToString(), server.CaPath,
            withCertificate ? server.CertPath : "-", withCertificate ? server.KeyPath : "-", authority, bytes.ToString(),
        ], Timeout);

    [Fact]
    public async Task Echo_FourMegabytes_RoundTripsWithTheSameChecksum()
    {
        await using var server = await HboneServerFixture.StartAsync();

        var result = await RunNodeAsync(server, "echo", "127.0.0.1:1", bytes: 4 * 1024 * 1024 + 123);

        result.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null, result.ToString());
        result.GetProperty("status").GetInt32().ShouldBe(200);
        result.GetProperty("alpn").GetString().ShouldBe("h2");
        result.GetProperty("tls").GetString().ShouldBe("TLSv1.3");
        result.GetProperty("serverSan").GetString().ShouldBe($"URI:{HboneServerFixture.ServerId}");
        result.GetProperty("receivedBytes").GetInt32().ShouldBe(4 * 1024 * 1024 + 123);
        result.GetProperty("receivedSha256").GetString().ShouldBe(result.GetProperty("sentSha256").GetString());
        result.GetProperty("endStreamReceived").GetBoolean().ShouldBeTrue();
        result.GetProperty("serverSettingsReceived").GetBoolean().ShouldBeTrue();

        var request = server.Requests.ShouldHaveSingleItem();
        request.PeerIdentity.ShouldBe(HboneServerFixture.ClientId);
        request.ForwardedFor!.ToString().ShouldBe("127.0.0.9:4711");
    }

    [Fact]
    public async Task ClientHalfClose_ServerReadsEndThenStillAnswers()
    {
        await using var server = await HboneServerFixture.StartAsync();

        var result = await RunNodeAsync(server, "halfclose", "127.0.0.1:2");

        result.GetProperty("status").GetInt32().ShouldBe(200);
        (await server.HalfCloseReceived.Task.WaitAsync(Timeout)).ShouldBe("hello");
        result.GetProperty("received").GetString().ShouldBe("after your end I got 'hello'");
        result.GetProperty("endStreamReceived").GetBoolean().ShouldBeTrue();
        result.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null, result.ToString());
    }

    [Fact]
    public async Task ClientWithoutCertificate_IsRejectedAtTls()
    {
        await using var server = await HboneServerFixture.StartAsync();

        var result = await RunNodeAsync(server, "status", "127.0.0.1:1", withCertificate: false);

        // TLS 1.3: node's side of the handshake completes before the server checks its (missing)
        // certificate; the server answers with TLS 1.3's certificate_required alert, which node reports as
        // the session's error. No HTTP/2 SETTINGS from the server, no response.
        result.GetProperty("error").GetString().ShouldBe("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", result.ToString());
        result.GetProperty("serverSettingsReceived").GetBoolean().ShouldBeFalse(result.ToString());
        result.GetProperty("status").ValueKind.ShouldBe(JsonValueKind.Null, result.ToString());
        server.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task HandlerReject_ShowsStatus401()
    {
        await using var server = await HboneServerFixture.StartAsync();

        var result = await RunNodeAsync(server, "status", "127.0.0.1:401");

        result.GetProperty("status").GetInt32().ShouldBe(401);
        result.GetProperty("receivedBytes").GetInt32().ShouldBe(0);
    }
}
