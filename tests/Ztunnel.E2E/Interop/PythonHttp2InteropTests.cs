using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;

namespace Ztunnel.E2E.Interop;

/// <summary>Our HTTP/2 client against python-h2, whose strict state machine rejects any protocol slip.</summary>
public sealed class PythonHttp2InteropTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Echo_8MiB_ChecksumMatches()
    {
        await using var python = await NodeH2Server.StartPythonAsync();
        await using var connection = await ConnectAsync(python);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("echo.test:1", [new("forwarded", "for=\"10.0.0.7:5555\"")], CancellationToken.None);
        (await python.NextEventAsync("open")).GetProperty("forwarded").GetString().ShouldBe("for=\"10.0.0.7:5555\"");
        var (sent, received) = await NodeHttp2InteropTests.EchoAsync(tunnel, 8L << 20);
        received.ShouldBe(sent);
    }

    [Fact]
    public async Task Upload_64MiB_Sha256MatchesOnBothSides()
    {
        await using var python = await NodeH2Server.StartPythonAsync();
        await using var connection = await ConnectAsync(python);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("sha256.test:1", null, CancellationToken.None);
        byte[] data = RandomNumberGenerator.GetBytes(64 << 20);
        await tunnel.WriteAsync(data).AsTask().WaitAsync(Guard);
        await tunnel.CompleteWritesAsync();
        (await NodeHttp2InteropTests.ReadAllAsync(tunnel)).ShouldBe($"{data.Length} {Convert.ToHexStringLower(SHA256.HashData(data))}");
    }

    [Fact]
    public async Task ManyStreams_OneConnection_AllEcho()
    {
        await using var python = await NodeH2Server.StartPythonAsync();
        await using var connection = await ConnectAsync(python);
        await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            await using TunnelStream tunnel = await connection.OpenConnectAsync($"echo.test:{i + 1}", null, CancellationToken.None);
            var (sent, received) = await NodeHttp2InteropTests.EchoAsync(tunnel, 100_000 + i);
            received.ShouldBe(sent);
        })).WaitAsync(Guard);
        connection.ActiveStreams.ShouldBe(0);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(503)]
    public async Task NonOk_IsHboneConnectExceptionWithThatStatus(int status)
    {
        await using var python = await NodeH2Server.StartPythonAsync();
        await using var connection = await ConnectAsync(python);
        (await Should.ThrowAsync<HboneConnectException>(connection.OpenConnectAsync($"status-{status}.test:1", null, CancellationToken.None))).StatusCode.ShouldBe(status);
    }

    [Fact]
    public async Task PeerReset_FailsReads_ClientReset_IsSeen()
    {
        await using var python = await NodeH2Server.StartPythonAsync();
        await using var connection = await ConnectAsync(python);
        await using TunnelStream reset = await connection.OpenConnectAsync("reset.test:1", null, CancellationToken.None);
        await reset.WriteAsync("trigger"u8.ToArray());
        await Should.ThrowAsync<IOException>(NodeHttp2InteropTests.ReadAllAsync(reset));

        TunnelStream mine = await connection.OpenConnectAsync("echo.test:9", null, CancellationToken.None);
        mine.Reset();
        (await python.NextEventAsync("aborted")).GetProperty("authority").GetString().ShouldBe("echo.test:9");
    }

    private static async Task<Http2ClientConnection> ConnectAsync(NodeH2Server server) =>
        await Http2ClientConnection.StartAsync(await InteropPki.DialAsync(server.EndPoint, InteropPki.ClientId, InteropPki.ServerId),
            TimeProvider.System, NullLogger.Instance, CancellationToken.None).WaitAsync(Guard);
}
