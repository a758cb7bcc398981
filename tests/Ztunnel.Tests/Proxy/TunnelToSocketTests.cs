using System.Net.Sockets;
using Ztunnel.Hbone;
using Ztunnel.Proxy;
using Ztunnel.Tests.Hbone;

namespace Ztunnel.Tests.Proxy;

/// <summary>
/// The relay's direct path out of an HBONE stream: received DATA goes from the connection's read loop straight to the
/// app's socket (Http2Connection.Reading.cs, SendDirect), and only what the socket does not take at once waits in the
/// stream's buffer for the relay. Whichever way each frame goes, the app must get every byte once, in order, then the
/// end; the bytes must be counted, and their flow-control credit must go back to the peer.
/// </summary>
public sealed class TunnelToSocketTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DataFromTheTunnel_ReachesTheApp_InOrder_IsCounted_AndItsCreditGoesBack()
    {
        await using var rig = await Rig.StartAsync();
        byte[] sent = Http2FlowControlTests.Pattern(2_500_000);
        // Frames of every size, one padded: small ones go to the socket directly when nothing waits before them, big
        // ones through the stream's buffer and the relay.
        int offset = 0;
        foreach (int size in new[] { 1, 100, 16_384, 3, 65_000, 7, 250_000, 16_000 })
        {
            await rig.Peer.WriteDataAsync(rig.StreamId, sent.AsSpan(offset, size));
            offset += size;
        }
        await rig.WritePaddedDataAsync(sent.AsSpan(offset, 1000), padding: 200);
        offset += 1000;
        byte[] first = await Http2StreamMoveChunkTests.ReadExactlyAsync(rig.App, offset);
        first.ShouldBe(sent[..offset]);

        // Then past half the 4 MiB stream window in small frames, with the app reading: nearly all go straight to the
        // socket, so the peer gets its credit back only if the direct sends return it.
        Task<byte[]> appReads = RelayTests.ReadToEndAsync(rig.App);
        while (offset < sent.Length)
        {
            int size = Math.Min(16_000, sent.Length - offset);
            await rig.Peer.WriteDataAsync(rig.StreamId, sent.AsSpan(offset, size));
            offset += size;
        }
        RawFrame credit = await rig.Peer.ExpectAsync(Http2FrameType.WindowUpdate, rig.StreamId);
        credit.ReadUInt32().ShouldBeGreaterThanOrEqualTo((uint)HboneDefaults.StreamWindow / 2);
        await rig.Peer.WriteDataAsync(rig.StreamId, default, endStream: true);

        (await appReads.WaitAsync(Guard)).ShouldBe(sent[first.Length..]);
        rig.Counters.ServerToClient.ShouldBe(sent.Length);
    }

    [Fact]
    public async Task AppThatStopsReading_GetsEveryByteInOrder_WhenItReadsAgain()
    {
        await using var rig = await Rig.StartAsync(smallSocketBuffers: true);
        // Far more than both socket buffers hold: most of it must wait in the stream's buffer, and frames that come
        // while it waits must queue behind it, not jump ahead to the socket.
        byte[] sent = Http2FlowControlTests.Pattern(3_000_000);
        for (int offset = 0; offset < sent.Length; offset += 16_000)
        {
            await rig.Peer.WriteDataAsync(rig.StreamId, sent.AsSpan(offset, Math.Min(16_000, sent.Length - offset)));
        }
        await rig.Peer.SyncAsync(); // every DATA frame is processed: sent on or buffered
        rig.Tunnel.ReceiveBlocksHeld.ShouldBeGreaterThan(0);

        await rig.Peer.WriteDataAsync(rig.StreamId, "tail"u8, endStream: true);
        byte[] expected = [.. sent, .. "tail"u8.ToArray()];
        (await RelayTests.ReadToEndAsync(rig.App).WaitAsync(Guard)).ShouldBe(expected);
        rig.Counters.ServerToClient.ShouldBe(expected.Length);
    }

    [Fact]
    public async Task ManyTinyFramesInOneBatch_ReachTheApp_InOrder()
    {
        await using var rig = await Rig.StartAsync();
        // 3000 one-byte DATA frames in one write: a few go to the socket directly, the rest of the batch through the
        // stream's buffer (a direct send per frame would be a syscall per byte); the two must not reorder.
        byte[] sent = Http2FlowControlTests.Pattern(3000);
        var frames = new System.Buffers.ArrayBufferWriter<byte>();
        foreach (byte b in sent)
        {
            Http2FrameWriter.WriteFrame(frames, Http2FrameType.Data, Http2Flags.None, rig.StreamId, [b]);
        }
        Http2FrameWriter.WriteFrame(frames, Http2FrameType.Data, Http2Flags.EndStream, rig.StreamId, default);
        await rig.Peer.WriteRawAsync(frames.WrittenMemory);

        (await RelayTests.ReadToEndAsync(rig.App).WaitAsync(Guard)).ShouldBe(sent);
        rig.Counters.ServerToClient.ShouldBe(sent.Length);
    }

    [Fact]
    public async Task AppReset_WhileDataArrives_ResetsTheTunnel()
    {
        await using var rig = await Rig.StartAsync();
        await rig.Peer.WriteDataAsync(rig.StreamId, "first"u8);
        byte[] first = new byte[5];
        await rig.App.ReceiveAsync(first.AsMemory()).AsTask().WaitAsync(Guard);
        first.ShouldBe("first"u8.ToArray());
        rig.App.LingerState = new LingerOption(true, 0);
        rig.App.Dispose(); // RST: the relay's next send there fails

        // A send to the dead socket fails on the read loop or in the relay, whichever comes first: either way the tunnel
        // is reset, the relay ends, and the connection's read loop goes on (its PING is answered).
        await rig.Peer.WriteDataAsync(rig.StreamId, "second"u8);
        await rig.Peer.ExpectAsync(Http2FrameType.RstStream, rig.StreamId);
        (await rig.Relay.WaitAsync(Guard)).ShouldBeFalse();
        await rig.Peer.SyncAsync();
    }

    /// <summary>A raw HTTP/2 peer with one open tunnel, relayed to a connected socket pair whose other end is the app.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly SocketTunnelStream _relayEnd;

        private Rig(RawHttp2Peer peer, Http2Stream tunnel, int streamId, SocketTunnelStream relayEnd, Socket app)
        {
            Peer = peer;
            Tunnel = tunnel;
            StreamId = streamId;
            _relayEnd = relayEnd;
            App = app;
            Relay = Ztunnel.Proxy.Relay.RunAsync(relayEnd, tunnel, Counters);
        }

        public RawHttp2Peer Peer { get; }

        public Http2Stream Tunnel { get; }

        public int StreamId { get; }

        /// <summary>The app's end of the socket pair (the relay's client side).</summary>
        public Socket App { get; }

        public RelayCounters Counters { get; } = new();

        public Task<bool> Relay { get; }

        public static async Task<Rig> StartAsync(bool smallSocketBuffers = false)
        {
            RawHttp2Peer peer = await RawHttp2Peer.StartAsync();
            var (tunnel, id) = await peer.OpenTunnelAsync();
            var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
            if (smallSocketBuffers)
            {
                relayEnd.SendBufferSize = 16 * 1024;
                appEnd.ReceiveBufferSize = 16 * 1024;
            }
            return new Rig(peer, (Http2Stream)tunnel, id, new SocketTunnelStream(relayEnd), appEnd);
        }

        /// <summary>A DATA frame with PADDED set: the pad-length octet, the data, then <paramref name="padding"/> zeros.</summary>
        public Task WritePaddedDataAsync(ReadOnlySpan<byte> data, int padding)
        {
            byte[] payload = new byte[1 + data.Length + padding];
            payload[0] = (byte)padding;
            data.CopyTo(payload.AsSpan(1));
            return Peer.WriteFrameAsync(Http2FrameType.Data, Http2Flags.Padded, StreamId, payload);
        }

        public async ValueTask DisposeAsync()
        {
            App.Dispose();
            _relayEnd.Reset();
            Tunnel.Reset();
            await Relay.WaitAsync(Guard);
            _relayEnd.Dispose();
            await Tunnel.DisposeAsync();
            await Peer.DisposeAsync();
        }
    }
}
