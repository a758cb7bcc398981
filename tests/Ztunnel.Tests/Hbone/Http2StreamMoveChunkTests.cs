using System.Net.Sockets;
using Ztunnel.Hbone;
using Ztunnel.Proxy;
using Ztunnel.Tests.Proxy;

namespace Ztunnel.Tests.Hbone;

/// <summary>
/// The relay's copy-free path out of an HBONE stream: received DATA written from the stream's own buffers to a
/// real socket, with the flow-control credit returned as a read would.
/// </summary>
public sealed class Http2StreamMoveChunkTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task MoveChunkTo_DeliversTheBytesInOrder_AndReturnsTheWindowLikeARead()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var app = appEnd;
        using var destination = new SocketTunnelStream(relayEnd);
        const int Chunk = 1 << 20;
        byte[] sent = Http2FlowControlTests.Pattern(3 * Chunk);
        for (int i = 0; i < 3; i++)
        {
            await peer.WriteDataAsync(id, sent.AsSpan(i * Chunk, Chunk));
        }
        await peer.SyncAsync();

        Task<byte[]> atApp = ReadExactlyAsync(app, 2 * Chunk);
        int moved = 0;
        while (moved < 2 * Chunk)
        {
            int n = await tunnel.MoveChunkToAsync(destination, 2 * Chunk - moved, CancellationToken.None).AsTask().WaitAsync(Guard);
            n.ShouldBeGreaterThan(0);
            n.ShouldBeLessThanOrEqualTo(2 * Chunk - moved);
            moved += n;
        }

        (await atApp.WaitAsync(Guard)).ShouldBe(sent[..(2 * Chunk)]);
        RawFrame update = await peer.ExpectAsync(Http2FrameType.WindowUpdate, id);
        update.ReadUInt32().ShouldBe((uint)(2 * Chunk)); // the same credit a 2 MiB read returns
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task MoveChunkTo_ReturnsZeroAtEndStream_AfterTheLastBytes()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var app = appEnd;
        using var destination = new SocketTunnelStream(relayEnd);
        await peer.WriteDataAsync(id, "last words"u8, endStream: true);

        (await tunnel.MoveChunkToAsync(destination, 4096, CancellationToken.None).AsTask().WaitAsync(Guard)).ShouldBe(10);
        (await tunnel.MoveChunkToAsync(destination, 4096, CancellationToken.None).AsTask().WaitAsync(Guard)).ShouldBe(0);
        (await ReadExactlyAsync(app, 10)).ShouldBe("last words"u8.ToArray());
        await tunnel.DisposeAsync();
    }

    /// <summary>Exactly <paramref name="count"/> bytes from <paramref name="socket"/>; fails if it ends sooner.</summary>
    internal static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        byte[] data = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = await socket.ReceiveAsync(data.AsMemory(read)).AsTask().WaitAsync(Guard);
            if (n == 0)
            {
                throw new EndOfStreamException($"the socket ended after {read} of {count} bytes");
            }
            read += n;
        }
        return data;
    }
}
