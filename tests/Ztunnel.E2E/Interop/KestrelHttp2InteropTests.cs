using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;

namespace Ztunnel.E2E.Interop;

/// <summary>Our HTTP/2 client against our Kestrel HBONE server over mTLS: the pair the daemon runs between nodes.</summary>
public sealed class KestrelHttp2InteropTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task OneGiB_ThroughOneStream_Sha256MatchesOnBothSides()
    {
        await using var server = await KestrelHbonePeer.StartAsync();
        await using var connection = await ConnectAsync(server);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:2", null, CancellationToken.None);
        const long Total = 1L << 30;
        byte[] chunk = RandomNumberGenerator.GetBytes(1 << 20);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long sent = 0; sent < Total; sent += chunk.Length)
        {
            chunk[0] = (byte)(sent >> 20);
            hash.AppendData(chunk);
            await tunnel.WriteAsync(chunk).AsTask().WaitAsync(Guard);
        }
        await tunnel.CompleteWritesAsync();
        (await NodeHttp2InteropTests.ReadAllAsync(tunnel)).ShouldBe($"{Total} {Convert.ToHexStringLower(hash.GetHashAndReset())}");
    }

    [Fact]
    public async Task Echo_256MiB_BothDirectionsAtOnce_ChecksumMatches()
    {
        await using var server = await KestrelHbonePeer.StartAsync();
        await using var connection = await ConnectAsync(server);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:1", null, CancellationToken.None);
        var (sent, received) = await NodeHttp2InteropTests.EchoAsync(tunnel, 256L << 20).WaitAsync(Guard);
        received.ShouldBe(sent);
    }

    [Fact]
    public async Task Pool_300ConcurrentEchoes_OverThreeConnections()
    {
        await using var server = await KestrelHbonePeer.StartAsync();
        await using var pool = new HboneConnectionPool((key, ct) => InteropPki.DialAsync(key.Address, key.Source, key.Destination, ct), TimeProvider.System, NullLogger.Instance);
        var key = new HbonePoolKey(InteropPki.ClientId, InteropPki.ServerId, server.EndPoint);
        TunnelStream[] tunnels = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => pool.ConnectAsync(key, "10.0.0.5:1", null, CancellationToken.None))).WaitAsync(Guard);
        pool.ConnectionCount(key).ShouldBe(3);
        await Task.WhenAll(tunnels.Select(async tunnel =>
        {
            var (sent, received) = await NodeHttp2InteropTests.EchoAsync(tunnel, 64 * 1024);
            received.ShouldBe(sent);
            await tunnel.DisposeAsync();
        })).WaitAsync(Guard);
    }

    private static async Task<Http2ClientConnection> ConnectAsync(KestrelHbonePeer server) =>
        await Http2ClientConnection.StartAsync(await InteropPki.DialAsync(server.EndPoint, InteropPki.ClientId, InteropPki.ServerId),
            TimeProvider.System, NullLogger.Instance, CancellationToken.None).WaitAsync(Guard);
}
