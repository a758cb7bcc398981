using System.Buffers;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone;

/// <summary>A peer that breaks the protocol gets a GOAWAY with the right code; we neither crash nor hang nor grow.</summary>
public sealed class Http2HostilePeerTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task GarbageInsteadOfSettings_ClosesTheConnection_AndStartFails()
    {
        await using var peer = await RawHttp2Peer.StartAsync(sendSettings: false);
        await peer.WriteRawAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
        await Should.ThrowAsync<IOException>(peer.PendingStart.WaitAsync(Guard));
        (await peer.ReadUntilGoAwayAsync()).ShouldNotBe(Http2ErrorCode.NoError);
    }

    [Fact]
    public async Task GarbageMidConnection_IsAConnectionError_StreamsFail()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, _) = await peer.OpenTunnelAsync();
        byte[] garbage = new byte[4096];
        new Random(42).NextBytes(garbage);
        garbage[0] = 0xFF; // first "frame" announces ~16 MiB
        await peer.WriteRawAsync(garbage);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.FrameSizeError);
        await Should.ThrowAsync<IOException>(tunnel.ReadAsync(new byte[1]).AsTask().WaitAsync(Guard));
        await peer.Client.Completion.WaitAsync(Guard);
    }

    [Fact]
    public async Task OversizedFrame_IsFrameSizeError_WithoutBufferingIt()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        // Only the header of a frame one byte over our 1 MiB limit: we must not wait for its payload.
        byte[] header = new byte[9];
        new Http2FrameHeader(HboneDefaults.MaxFrameSize + 1, Http2FrameType.Data, 0, 1).Write(header);
        await peer.WriteRawAsync(header);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.FrameSizeError);
    }

    [Fact]
    public async Task PeerClosingInsideAFrame_FailsTheTunnel_AndSaysHowMuchWasCutOff()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        // A DATA frame announcing 1,000 bytes, cut off after 400 of them.
        byte[] partial = new byte[Http2FrameHeader.Size + 400];
        new Http2FrameHeader(1000, Http2FrameType.Data, 0, id).Write(partial);
        await peer.WriteRawAsync(partial);
        peer.Close();

        await Should.ThrowAsync<IOException>(tunnel.ReadAsync(new byte[1]).AsTask().WaitAsync(Guard));
        await peer.Client.Completion.WaitAsync(Guard);
        peer.Client.CloseReason!.Message.ShouldBe("HTTP/2 peer closed the connection in the middle of a frame (409 bytes left over)");
    }

    [Fact]
    public async Task PushPromise_IsConnectionProtocolError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (_, id) = await peer.OpenTunnelAsync();
        await peer.WriteFrameAsync(Http2FrameType.PushPromise, Http2Flags.EndHeaders, id, [0, 0, 0, 2, 0x82]);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task UnknownFrameType_IsIgnored()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        await peer.WriteFrameAsync((Http2FrameType)0xEE, 0xFF, id, new byte[100]);
        await peer.WriteFrameAsync((Http2FrameType)0x0B, 0, 0, new byte[3]);
        await peer.WriteDataAsync(id, "after"u8, endStream: true);
        (await Http2ClientConnectionTests.ReadAllAsync(tunnel)).ShouldBe("after");
    }

    [Fact]
    public async Task EndlessContinuation_IsCutOff()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        await peer.WriteFrameAsync(Http2FrameType.Headers, 0, id, [0x88]);
        Task<Http2ErrorCode?> goAway = peer.ReadUntilGoAwayAsync();
        byte[] fragment = new byte[16384];
        fragment.AsSpan().Fill(0x40); // whatever: it must never be decoded
        for (int i = 0; i < 200 && !goAway.IsCompleted; i++)
        {
            try
            {
                await peer.WriteFrameAsync(Http2FrameType.Continuation, 0, id, fragment);
            }
            catch (IOException)
            {
                break; // the client closed on us, as it should
            }
        }
        (await goAway.WaitAsync(Guard)).ShouldBe(Http2ErrorCode.EnhanceYourCalm);
        await Should.ThrowAsync<IOException>(open.WaitAsync(Guard));
    }

    [Fact]
    public async Task EmptyContinuationFlood_IsCutOff()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        var frames = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteFrame(frames, Http2FrameType.Headers, 0, id, [0x88]);
        for (int i = 0; i < 1000; i++)
        {
            Http2FrameWriter.WriteFrame(frames, Http2FrameType.Continuation, 0, id, default);
        }
        await peer.WriteRawAsync(frames.WrittenMemory);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.EnhanceYourCalm);
        await Should.ThrowAsync<IOException>(open.WaitAsync(Guard));
    }

    [Fact]
    public async Task FrameInterleavedInAHeaderBlock_IsProtocolError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        await peer.WriteFrameAsync(Http2FrameType.Headers, 0, id, [0x88]);
        await peer.WriteDataAsync(id, "x"u8);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task ContinuationWithoutHeaders_IsProtocolError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (_, id) = await peer.OpenTunnelAsync();
        await peer.WriteFrameAsync(Http2FrameType.Continuation, Http2Flags.EndHeaders, id, [0x88]);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task HeaderBlockSplitOverContinuations_IsDecoded()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        var block = new ArrayBufferWriter<byte>();
        HpackEncoder.EncodeStatus(200, block);
        HpackEncoder.Encode("server"u8, "raw-peer"u8, block);
        byte[] bytes = block.WrittenSpan.ToArray();
        await peer.WriteFrameAsync(Http2FrameType.Headers, 0, id, bytes.AsSpan(0, 1));
        await peer.WriteFrameAsync(Http2FrameType.Continuation, 0, id, bytes.AsSpan(1, 3));
        await peer.WriteFrameAsync(Http2FrameType.Continuation, Http2Flags.EndHeaders, id, bytes.AsSpan(4));
        await using TunnelStream tunnel = await open.WaitAsync(Guard);
    }

    [Fact]
    public async Task HpackBomb_IsCompressionError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        // A :status 200, then the bomb.
        byte[] block = RawHttp2Endpoint.HpackBombBlock(0x88);
        await peer.WriteFrameAsync(Http2FrameType.Headers, Http2Flags.EndHeaders, id, block);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.CompressionError);
        await Should.ThrowAsync<IOException>(open.WaitAsync(Guard));
    }

    [Fact]
    public async Task BrokenHpack_IsCompressionError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        await peer.WriteFrameAsync(Http2FrameType.Headers, Http2Flags.EndHeaders, id, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.CompressionError);
    }

    [Theory]
    [InlineData((int)Http2FrameType.Data, 0)]
    [InlineData((int)Http2FrameType.Headers, 2)]   // a server may not open streams
    [InlineData((int)Http2FrameType.Data, 99)]     // never opened
    [InlineData((int)Http2FrameType.RstStream, 7)] // never opened
    public async Task FrameOnABadStream_IsProtocolError(int type, int streamId)
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        await peer.WriteFrameAsync((Http2FrameType)type, Http2Flags.EndHeaders, streamId, [0, 0, 0, 0x88]);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.ProtocolError);
    }

    [Theory]
    [InlineData((int)Http2SettingId.EnablePush, 2u, (uint)Http2ErrorCode.ProtocolError)]
    [InlineData((int)Http2SettingId.InitialWindowSize, 0x8000_0000u, (uint)Http2ErrorCode.FlowControlError)]
    [InlineData((int)Http2SettingId.MaxFrameSize, 100u, (uint)Http2ErrorCode.ProtocolError)]
    public async Task InvalidSettings_AreConnectionErrors(int id, uint value, uint code)
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        await peer.WriteSettingsAsync(new Http2Setting((Http2SettingId)id, value));
        (await peer.ReadUntilGoAwayAsync()).ShouldBe((Http2ErrorCode)code);
    }

    [Fact]
    public async Task DataAfterEndStream_IsStreamClosedError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        await peer.WriteDataAsync(id, "a"u8, endStream: true);
        await peer.WriteDataAsync(id, "b"u8);
        (await peer.ExpectAsync(Http2FrameType.RstStream, id)).ReadUInt32().ShouldBe((uint)Http2ErrorCode.StreamClosed);
        peer.Client.CanOpenStream.ShouldBeTrue();
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task PingFlood_IsAnsweredWithoutUnboundedQueueing()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var frames = new ArrayBufferWriter<byte>();
        for (int i = 0; i < 10000; i++)
        {
            Http2FrameWriter.WritePing(frames, (ulong)i, ack: false);
        }
        await peer.WriteRawAsync(frames.WrittenMemory);
        // We read what it sends us, so every PING gets its ACK and the connection stays up.
        int acks = 0;
        while (acks < 10000)
        {
            RawFrame frame = await peer.ExpectAsync(Http2FrameType.Ping);
            frame.Header.HasFlag(Http2Flags.Ack).ShouldBeTrue();
            acks++;
        }
        peer.Client.CanOpenStream.ShouldBeTrue();
    }
}
