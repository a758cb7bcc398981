namespace Ztunnel.E2E.Interop;

/// <summary>python-h2 (hyper-h2) as an independent HBONE client against our HBONE server (Http2ServerConnection).</summary>
public sealed class PythonClientToHboneServerTests
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Interop", "python_hbone_client.py");

    [Fact]
    public async Task Echo_RoundTripsWithTheSameChecksum()
    {
        await using var server = await HboneServerFixture.StartAsync();
        const int bytes = 1024 * 1024 + 7;

        var result = await PeerProcess.RunJsonAsync("/usr/bin/python3",
            [Script, "127.0.0.1", server.EndPoint.Port.ToString(), server.CaPath, server.CertPath, server.KeyPath, "127.0.0.1:1", bytes.ToString()],
            TimeSpan.FromSeconds(120));

        result.GetProperty("status").GetString().ShouldBe("200", result.ToString());
        result.GetProperty("alpn").GetString().ShouldBe("h2");
        result.GetProperty("tls").GetString().ShouldBe("TLSv1.3");
        result.GetProperty("receivedBytes").GetInt32().ShouldBe(bytes);
        result.GetProperty("receivedSha256").GetString().ShouldBe(result.GetProperty("sentSha256").GetString());
        result.GetProperty("endStreamReceived").GetBoolean().ShouldBeTrue();
        server.Requests.ShouldHaveSingleItem().PeerIdentity.ShouldBe(HboneServerFixture.ClientId);
    }
}
