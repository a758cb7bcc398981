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
        await using var rig = await Rig.StartAsync(new Http2Setting(Http2SettingId.MaxFrameSize, 16_384));
        byte[] sent = Http2FlowControlTests.Pattern(300_000); // more than the default 65,535-byte windows
        Task appWrites = Task.Run(async () =>
        {
            await rig.App.SendAsync(sent);
            rig.App.Shutdown(SocketShutdown.Send);
        });

        // The relay's loop: chunks until the app's FIN; the peer gives credit as it reads.
        Task<int> relay = Task.Run(async () =>
        {
            int moved = 0;
            while (true)
            {
                int n = await rig.MoveChunkAsync(256 * 1024);
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
            RawFrame frame = await rig.Peer.ExpectAsync(Http2FrameType.Data, rig.StreamId);
            frame.Payload.Length.ShouldBeLessThanOrEqualTo(16_384);
            received.Write(frame.Payload);
            await rig.Peer.WriteWindowUpdateAsync(rig.StreamId, frame.Payload.Length);
            await rig.Peer.WriteWindowUpdateAsync(0, frame.Payload.Length);
        }

        (await relay.WaitAsync(Guard)).ShouldBe(sent.Length);
        await appWrites.WaitAsync(Guard);
        received.ToArray().ShouldBe(sent);
    }

    [Fact]
    public async Task MoveChunkTo_Tunnel_WaitsForTheApp_ThenReturnsItsBytes()
    {
        await using var rig = await Rig.StartAsync();

        // Nothing sent yet: the chunk waits for the app rather than returning empty-handed.
        Task<int> chunk = rig.MoveChunkAsync(4096);
        chunk.IsCompleted.ShouldBeFalse();
        await rig.App.SendAsync("hello"u8.ToArray());

        (await chunk.WaitAsync(Guard)).ShouldBe(5);
        (await rig.Peer.ExpectAsync(Http2FrameType.Data, rig.StreamId)).Payload.ShouldBe("hello"u8.ToArray());
    }

    [Fact]
    public async Task MoveChunkTo_Tunnel_AfterAShortChunk_WaitsForTheNextBytes_ThenSeesTheEnd()
    {
        await using var rig = await Rig.StartAsync();
        await rig.App.SendAsync("ping"u8.ToArray());
        (await rig.MoveChunkAsync(4096).WaitAsync(Guard)).ShouldBe(4);

        // The socket ran dry: the next chunk waits for the app rather than returning empty-handed.
        Task<int> next = rig.MoveChunkAsync(4096);
        next.IsCompleted.ShouldBeFalse();
        await rig.App.SendAsync("pong!"u8.ToArray());
        (await next.WaitAsync(Guard)).ShouldBe(5);
        rig.App.Shutdown(SocketShutdown.Send);
        (await rig.MoveChunkAsync(4096).WaitAsync(Guard)).ShouldBe(0);

        (await rig.Peer.ExpectAsync(Http2FrameType.Data, rig.StreamId)).Payload.ShouldBe("ping"u8.ToArray());
        (await rig.Peer.ExpectAsync(Http2FrameType.Data, rig.StreamId)).Payload.ShouldBe("pong!"u8.ToArray());
    }

    [Fact]
    public async Task MoveChunkTo_Tunnel_AppResetAfterAShortChunk_Throws()
    {
        await using var rig = await Rig.StartAsync();
        await rig.App.SendAsync("ping"u8.ToArray());
        (await rig.MoveChunkAsync(4096).WaitAsync(Guard)).ShouldBe(4);
        rig.ResetApp(); // after the relay had drained the socket

        var error = await Should.ThrowAsync<SocketException>(rig.MoveChunkAsync(4096).WaitAsync(Guard));
        error.SocketErrorCode.ShouldBe(SocketError.ConnectionReset);
    }

    [Fact]
    public async Task MoveChunkTo_Tunnel_AppReset_Throws()
    {
        await using var rig = await Rig.StartAsync();
        rig.ResetApp();

        // A reset is an error, never a clean end of stream (which would half-close the tunnel instead of resetting it).
        var error = await Should.ThrowAsync<SocketException>(rig.MoveChunkAsync(4096).WaitAsync(Guard));
        error.SocketErrorCode.ShouldBe(SocketError.ConnectionReset);
    }

    /// <summary>A raw HTTP/2 peer with one open tunnel, and a connected socket pair: the relay's end feeds the tunnel.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly TunnelStream _tunnel;
        private readonly SocketTunnelStream _source;

        private Rig(RawHttp2Peer peer, TunnelStream tunnel, int streamId, SocketTunnelStream source, Socket app)
        {
            Peer = peer;
            _tunnel = tunnel;
            StreamId = streamId;
            _source = source;
            App = app;
        }

        public RawHttp2Peer Peer { get; }

        public int StreamId { get; }

        /// <summary>The app's end of the socket pair.</summary>
        public Socket App { get; }

        public static async Task<Rig> StartAsync(params Http2Setting[] peerSettings)
        {
            RawHttp2Peer peer = await RawHttp2Peer.StartAsync(peerSettings);
            var (tunnel, id) = await peer.OpenTunnelAsync();
            var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
            return new Rig(peer, tunnel, id, new SocketTunnelStream(relayEnd), appEnd);
        }

        /// <summary>One relay step: the app's bytes into the tunnel.</summary>
        public Task<int> MoveChunkAsync(int maxBytes) => _source.MoveChunkToAsync(_tunnel, maxBytes, CancellationToken.None).AsTask();

        /// <summary>The app resets its connection (RST).</summary>
        public void ResetApp()
        {
            App.LingerState = new LingerOption(true, 0);
            App.Dispose();
        }

        public async ValueTask DisposeAsync()
        {
            App.Dispose();
            _source.Dispose();
            await _tunnel.DisposeAsync();
            await Peer.DisposeAsync();
        }
    }
}
