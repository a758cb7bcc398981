using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;

namespace Ztunnel.E2E.Interop;

/// <summary>Our HTTP/2 client (and pool) against Node's built-in http2 server, over mTLS.</summary>
public sealed class NodeHttp2InteropTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Echo_8MiB_ChecksumMatches()
    {
        await using var node = await NodeH2Server.StartAsync();
        await using var connection = await ConnectAsync(node);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("echo.test:1", [new("forwarded", "for=\"10.0.0.7:5555\"")], CancellationToken.None);
        (await node.NextEventAsync("open")).GetProperty("forwarded").GetString().ShouldBe("for=\"10.0.0.7:5555\"");
        var (sent, received) = await EchoAsync(tunnel, 8L << 20);
        received.ShouldBe(sent);
    }

    [Fact]
    public async Task OneGiB_ThroughOneStream_Sha256MatchesOnBothSides()
    {
        await using var node = await NodeH2Server.StartAsync();
        await using var connection = await ConnectAsync(node);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("sha256.test:1", null, CancellationToken.None);
        const long Total = 1L << 30;
        byte[] chunk = RandomNumberGenerator.GetBytes(1 << 20);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long sent = 0; sent < Total; sent += chunk.Length)
        {
            chunk[0] = (byte)(sent >> 20); // vary the chunks so reordering would show
            hash.AppendData(chunk);
            await tunnel.WriteAsync(chunk).AsTask().WaitAsync(Guard);
        }
        await tunnel.CompleteWritesAsync();
        string reply = await ReadAllAsync(tunnel);
        reply.ShouldBe($"{Total} {Convert.ToHexStringLower(hash.GetHashAndReset())}");
    }

    [Fact]
    public async Task HalfClose_ClientFirst_NodeEchoesThenEnds()
    {
        await using var node = await NodeH2Server.StartAsync();
        await using var connection = await ConnectAsync(node);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("echo.test:1", null, CancellationToken.None);
        await tunnel.WriteAsync("half closed"u8.ToArray());
        await tunnel.CompleteWritesAsync();
        (await ReadAllAsync(tunnel)).ShouldBe("half closed");
    }

    [Fact]
    public async Task HalfClose_NodeFirst_ClientCanStillSend()
    {
        await using var node = await NodeH2Server.StartAsync();
        await using var connection = await ConnectAsync(node);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("greet.test:1", null, CancellationToken.None);
        (await ReadAllAsync(tunnel)).ShouldBe("hello from node");
        await tunnel.WriteAsync("reply after your FIN"u8.ToArray());
        await tunnel.CompleteWritesAsync();
        (await node.NextEventAsync("received")).GetProperty("data").GetString().ShouldBe("reply after your FIN");
    }

    [Fact]
    public async Task NodeResets_ClientReadFails()
    {
        await using var node = await NodeH2Server.StartAsync();
        await using var connection = await ConnectAsync(node);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("reset.test:1", null, CancellationToken.None);
        await tunnel.WriteAsync("trigger"u8.ToArray());
        var error = await Should.ThrowAsync<IOException>(ReadAllAsync(tunnel));
        error.Message.ShouldContain("reset by the peer");
        connection.CanOpenStream.ShouldBeTrue();
    }

    [Fact]
    public async Task NodeEndsThenResets_ClientReadsTheEnd_AndWritesFail()
    {
        await using var node = await NodeH2Server.StartAsync();
        await using var connection = await ConnectAsync(node);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("close.test:1", null, CancellationToken.None);
        await tunnel.WriteAsync("trigger"u8.ToArray());
        (await ReadAllAsync(tunnel)).ShouldBe("");
        var error = await Should.ThrowAsync<IOException>(async () =>
        {
            // The RST_STREAM right behind the END_STREAM fails our sending direction.
            while (true)
            {
                await tunnel.WriteAsync(new byte[1024]).AsTask().WaitAsync(Guard);
            }
        });
        error.Message.ShouldContain("Cancel");
    }

    [Fact]
    public async Task ClientResets_NodeSeesTheAbort()
    {
        await using var node = await NodeH2Server.StartAsync();
        await using var connection = await ConnectAsync(node);
        TunnelStream tunnel = await connection.OpenConnectAsync("echo.test:2", null, CancellationToken.None);
        await node.NextEventAsync("open");
        tunnel.Reset();
        (await node.NextEventAsync("aborted")).GetProperty("authority").GetString().ShouldBe("echo.test:2");
    }

    [Theory]
    [InlineData(401)]
    [InlineData(503)]
    public async Task NodeAnswersNonOk_IsHboneConnectExceptionWithThatStatus(int status)
    {
        await using var node = await NodeH2Server.StartAsync();
        await using var connection = await ConnectAsync(node);
        var error = await Should.ThrowAsync<HboneConnectException>(connection.OpenConnectAsync($"status-{status}.test:1", null, CancellationToken.None));
        error.StatusCode.ShouldBe(status);
    }

    [Fact]
    public async Task NodeGoAway_InFlightStreamFinishes_NewStreamsUseANewConnection()
    {
        await using var node = await NodeH2Server.StartAsync();
        int dials = 0;
        await using var pool = new HboneConnectionPool(async (key, ct) =>
        {
            Interlocked.Increment(ref dials);
            return await InteropPki.DialAsync(key.Address, key.Source, key.Destination, ct);
        }, TimeProvider.System, NullLogger.Instance);
        var key = new HbonePoolKey(InteropPki.ClientId, InteropPki.ServerId, node.EndPoint);
        await using TunnelStream inFlight = await pool.ConnectAsync(key, "goaway.test:1", null, CancellationToken.None);
        await node.NextEventAsync("goaway");
        // The old connection finishes this stream even after GOAWAY ...
        var echo = EchoAsync(inFlight, 1 << 20);
        // ... while new tunnels go to a new connection.
        await using TunnelStream fresh = await pool.ConnectAsync(key, "echo.test:1", null, CancellationToken.None);
        var (sent, received) = await echo;
        received.ShouldBe(sent);
        await fresh.WriteAsync("new connection"u8.ToArray());
        await fresh.CompleteWritesAsync();
        (await ReadAllAsync(fresh)).ShouldBe("new connection");
        dials.ShouldBe(2);
    }

    [Fact]
    public async Task Pool_1000ConcurrentStreams_AllEcho_OverAboutTenConnections()
    {
        await using var node = await NodeH2Server.StartAsync(maxConcurrentStreams: 100);
        int dials = 0;
        await using var pool = new HboneConnectionPool(async (key, ct) =>
        {
            Interlocked.Increment(ref dials);
            return await InteropPki.DialAsync(key.Address, key.Source, key.Destination, ct);
        }, TimeProvider.System, NullLogger.Instance);
        var key = new HbonePoolKey(InteropPki.ClientId, InteropPki.ServerId, node.EndPoint);
        TunnelStream[] tunnels = await Task.WhenAll(Enumerable.Range(0, 1000)
            .Select(_ => pool.ConnectAsync(key, "echo.test:1", null, CancellationToken.None))).WaitAsync(Guard);
        pool.GetConnections(key).ShouldAllBe(c => c.ActiveStreams <= 100);
        await Task.WhenAll(tunnels.Select(async (tunnel, i) =>
        {
            byte[] message = Encoding.ASCII.GetBytes($"tunnel {i} " + new string('z', i % 300));
            await tunnel.WriteAsync(message);
            await tunnel.CompleteWritesAsync();
            (await ReadAllAsync(tunnel)).ShouldBe(Encoding.ASCII.GetString(message));
            await tunnel.DisposeAsync();
        })).WaitAsync(Guard);
        dials.ShouldBe(10);
    }

    private static async Task<Http2ClientConnection> ConnectAsync(NodeH2Server node) =>
        await Http2ClientConnection.StartAsync(await InteropPki.DialAsync(node.EndPoint, InteropPki.ClientId, InteropPki.ServerId),
            TimeProvider.System, NullLogger.Instance, CancellationToken.None).WaitAsync(Guard);

    internal static async Task<string> ReadAllAsync(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all).WaitAsync(Guard);
        return Encoding.ASCII.GetString(all.ToArray());
    }

    /// <summary>Writes <paramref name="length"/> random bytes and half-closes while reading the echo; returns the SHA-256 of both.</summary>
    internal static async Task<(string Sent, string Received)> EchoAsync(Stream tunnel, long length)
    {
        Task<string> writing = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] chunk = new byte[64 * 1024];
            for (long sent = 0; sent < length; sent += chunk.Length)
            {
                int n = (int)Math.Min(chunk.Length, length - sent);
                RandomNumberGenerator.Fill(chunk.AsSpan(0, n));
                hash.AppendData(chunk, 0, n);
                await tunnel.WriteAsync(chunk.AsMemory(0, n));
            }
            await ((TunnelStream)tunnel).CompleteWritesAsync();
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        });
        using var received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await tunnel.ReadAsync(buffer).AsTask().WaitAsync(Guard)) > 0)
        {
            received.AppendData(buffer, 0, read);
            total += read;
        }
        total.ShouldBe(length);
        return (await writing.WaitAsync(Guard), Convert.ToHexStringLower(received.GetHashAndReset()));
    }
}
