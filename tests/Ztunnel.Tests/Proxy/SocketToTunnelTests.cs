using System.Net.Sockets;
using Ztunnel.Hbone;
using Ztunnel.Proxy;
using Ztunnel.Tests.Hbone;

namespace Ztunnel.Tests.Proxy;

/// <summary>
/// The relay's copy-free path into an HBONE stream: the app's bytes are received from its socket straight into
/// DATA frames (Http2Connection.SocketData.cs). The peer must get every byte, in order, in frames it allows, within
/// the windows it gives; the app's FIN must become the end of the chunks, its reset an error.
/// </summary>
public sealed class SocketToTunnelTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task MoveChunkTo_Tunnel_SendsEveryByteInFramesThePeerAllows_WaitingForItsWindows()
    {
        await using var peer = await RawHttp2Peer.StartAsync([new Http2Setting(Http2SettingId.MaxFrameSize, 16_384)]);
        var (tunnel, id) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var source = new SocketTunnelStream(relayEnd);
        byte[] sent = Http2FlowControlTests.Pattern(300_000); // more than the default 65,535-byte windows
        Task appWrites = Task.Run(async () =>
        {
            await appEnd.SendAsync(sent);
            appEnd.Shutdown(SocketShutdown.Send);
        });

        // The relay's loop: chunks until the app's FIN; the peer gives credit as it reads.
        Task<int> relay = Task.Run(async () =>
        {
            int moved = 0;
            while (true)
            {
                int n = await source.MoveChunkToAsync(tunnel, 256 * 1024, CancellationToken.None);
                if (n == 0)
                {
                    return moved;
                }
                n.ShouldBeGreaterThan(0);
                moved += n;
            }
        });
        var received = new MemoryStream();
        while (received.Length < sent.Length)
        {
            RawFrame frame = await peer.ExpectAsync(Http2FrameType.Data, id);
            frame.Payload.Length.ShouldBeLessThanOrEqualTo(16_384);
            received.Write(frame.Payload);
            await peer.WriteWindowUpdateAsync(id, frame.Payload.Length);
            await peer.WriteWindowUpdateAsync(0, frame.Payload.Length);
        }

        (await relay.WaitAsync(Guard)).ShouldBe(sent.Length);
        await appWrites.WaitAsync(Guard);
        received.ToArray().ShouldBe(sent);
        appEnd.Dispose();
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task MoveChunkTo_Tunnel_WaitsForTheApp_ThenReturnsItsBytes()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var app = appEnd;
        using var source = new SocketTunnelStream(relayEnd);

        // Nothing sent yet: the chunk waits for the app rather than returning empty-handed.
        Task<int> chunk = source.MoveChunkToAsync(tunnel, 4096, CancellationToken.None).AsTask();
        chunk.IsCompleted.ShouldBeFalse();
        await app.SendAsync("hello"u8.ToArray());

        (await chunk.WaitAsync(Guard)).ShouldBe(5);
        (await peer.ExpectAsync(Http2FrameType.Data, id)).Payload.ShouldBe("hello"u8.ToArray());
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task MoveChunkTo_Tunnel_AfterAShortChunk_WaitsForTheNextBytes_ThenSeesTheEnd()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var app = appEnd;
        using var source = new SocketTunnelStream(relayEnd);
        await app.SendAsync("ping"u8.ToArray());
        (await source.MoveChunkToAsync(tunnel, 4096, CancellationToken.None).AsTask().WaitAsync(Guard)).ShouldBe(4);

        // The socket ran dry: the next chunk waits for the app rather than returning empty-handed.
        Task<int> next = source.MoveChunkToAsync(tunnel, 4096, CancellationToken.None).AsTask();
        next.IsCompleted.ShouldBeFalse();
        await app.SendAsync("pong!"u8.ToArray());
        (await next.WaitAsync(Guard)).ShouldBe(5);
        app.Shutdown(SocketShutdown.Send);
        (await source.MoveChunkToAsync(tunnel, 4096, CancellationToken.None).AsTask().WaitAsync(Guard)).ShouldBe(0);

        (await peer.ExpectAsync(Http2FrameType.Data, id)).Payload.ShouldBe("ping"u8.ToArray());
        (await peer.ExpectAsync(Http2FrameType.Data, id)).Payload.ShouldBe("pong!"u8.ToArray());
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task MoveChunkTo_Tunnel_AppResetAfterAShortChunk_Throws()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, _) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var source = new SocketTunnelStream(relayEnd);
        await appEnd.SendAsync("ping"u8.ToArray());
        (await source.MoveChunkToAsync(tunnel, 4096, CancellationToken.None).AsTask().WaitAsync(Guard)).ShouldBe(4);
        appEnd.LingerState = new LingerOption(true, 0);
        appEnd.Dispose(); // RST after the relay had drained the socket

        var error = await Should.ThrowAsync<SocketException>(source.MoveChunkToAsync(tunnel, 4096, CancellationToken.None).AsTask().WaitAsync(Guard));
        error.SocketErrorCode.ShouldBe(SocketError.ConnectionReset);
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task MoveChunkTo_Tunnel_AppReset_Throws()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, _) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var source = new SocketTunnelStream(relayEnd);
        appEnd.LingerState = new LingerOption(true, 0);
        appEnd.Dispose(); // RST

        // A reset is an error, never a clean end of stream (which would half-close the tunnel instead of resetting it).
        var error = await Should.ThrowAsync<SocketException>(source.MoveChunkToAsync(tunnel, 4096, CancellationToken.None).AsTask().WaitAsync(Guard));
        error.SocketErrorCode.ShouldBe(SocketError.ConnectionReset);
        await tunnel.DisposeAsync();
    }
}
