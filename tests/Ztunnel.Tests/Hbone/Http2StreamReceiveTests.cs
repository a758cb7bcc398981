using System.Buffers;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

/// <summary>
/// An HBONE stream's receive side over a real loopback connection: a held tunnel that read everything keeps no
/// buffer block, waits can be cancelled, and a reset reaches a waiting reader as an IOException.
/// </summary>
public sealed class Http2StreamReceiveTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AnIdleTunnelThatReadEverything_HoldsNoBufferBlock()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        var stream = (Http2Stream)tunnel;
        byte[] sent = Http2FlowControlTests.Pattern(200_000);
        await peer.WriteDataAsync(id, sent);

        byte[] received = new byte[sent.Length];
        await tunnel.ReadExactlyAsync(received).AsTask().WaitAsync(Guard);

        received.ShouldBe(sent);
        stream.ReceiveBlocksHeld.ShouldBe(0);
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task Dispose_WithUnreadData_LetsGoOfItsBlocks()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        var stream = (Http2Stream)tunnel;
        await peer.WriteDataAsync(id, Http2FlowControlTests.Pattern(100_000));
        await tunnel.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Guard);
        stream.ReceiveBlocksHeld.ShouldBeGreaterThan(0);

        await tunnel.DisposeAsync();

        stream.ReceiveBlocksHeld.ShouldBe(0);
    }

    [Fact]
    public async Task ReadAsync_CancelledWhileWaiting_Throws_AndTheNextReadGetsTheData()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        byte[] buffer = new byte[64];
        using var cts = new CancellationTokenSource();
        Task<int> read = tunnel.ReadAsync(buffer, cts.Token).AsTask();
        read.IsCompleted.ShouldBeFalse();

        await cts.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(read.WaitAsync(Guard));
        await peer.WriteDataAsync(id, "after"u8);
        int n = await tunnel.ReadAsync(buffer).AsTask().WaitAsync(Guard);
        buffer.AsSpan(0, n).ToArray().ShouldBe("after"u8.ToArray());
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task ResetByThePeer_FailsAWaitingRead_WithIOException()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        Task<int> read = tunnel.ReadAsync(new byte[64]).AsTask();

        await peer.WriteRstStreamAsync(id, Http2ErrorCode.Cancel);

        var error = await Should.ThrowAsync<IOException>(read.WaitAsync(Guard));
        error.Message.ShouldContain("reset by the peer");
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task AnEnd_FollowedInTheSameReadByAConnectionError_StillReachesTheReader()
    {
        // The end's wake-up waits for the batch to be published; a frame that breaks the connection right after
        // it must not swallow that wake-up (the stream, closed both ways, is no longer one the abort fails).
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        await tunnel.CompleteWritesAsync().AsTask().WaitAsync(Guard);
        byte[] buffer = new byte[64];
        Task<int> read = tunnel.ReadAsync(buffer).AsTask();
        var frames = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteFrame(frames, Http2FrameType.Data, (byte)Http2Flags.EndStream, id, "tail"u8);
        Http2FrameWriter.WriteFrame(frames, Http2FrameType.Data, 0, 0, "DATA on stream 0 is a connection error"u8);

        await peer.WriteRawAsync(frames.WrittenMemory);

        int n = await read.WaitAsync(Guard);
        buffer.AsSpan(0, n).ToArray().ShouldBe("tail"u8.ToArray());
        (await tunnel.ReadAsync(buffer).AsTask().WaitAsync(Guard)).ShouldBe(0);
        await tunnel.DisposeAsync();
    }
}
