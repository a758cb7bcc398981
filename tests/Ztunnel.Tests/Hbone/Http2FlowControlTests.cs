using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

public sealed class Http2FlowControlTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Write_StopsAtThePeerStreamWindow_ResumesOnWindowUpdate()
    {
        await using var peer = await RawHttp2Peer.StartAsync([new(Http2SettingId.InitialWindowSize, 100)]);
        var (tunnel, id) = await peer.OpenTunnelAsync();
        Task write = tunnel.WriteAsync(Pattern(1000)).AsTask();
        (await peer.ExpectAsync(Http2FrameType.Data, id)).Payload.Length.ShouldBe(100);
        await peer.SyncAsync();
        write.IsCompleted.ShouldBeFalse();
        await peer.WriteWindowUpdateAsync(id, 900);
        (await ReadDataAsync(peer, id, 900)).ShouldBe(Pattern(1000)[100..]);
        await write.WaitAsync(Guard);
    }

    [Fact]
    public async Task Write_StopsAtTheConnectionWindow_ResumesOnConnectionWindowUpdate()
    {
        // Stream window is large, the connection window is the default 65535.
        await using var peer = await RawHttp2Peer.StartAsync([new(Http2SettingId.InitialWindowSize, 1 << 20)]);
        var (tunnel, id) = await peer.OpenTunnelAsync();
        Task write = tunnel.WriteAsync(Pattern(70000)).AsTask();
        (await ReadDataAsync(peer, id, 65535)).ShouldBe(Pattern(70000)[..65535]);
        await peer.SyncAsync();
        write.IsCompleted.ShouldBeFalse();
        await peer.WriteWindowUpdateAsync(0, 70000 - 65535);
        (await ReadDataAsync(peer, id, 70000 - 65535)).ShouldBe(Pattern(70000)[65535..]);
        await write.WaitAsync(Guard);
    }

    [Fact]
    public async Task SettingsDecrease_MakesTheWindowNegative_WriterWaitsUntilItIsPositiveAgain()
    {
        await using var peer = await RawHttp2Peer.StartAsync([new(Http2SettingId.InitialWindowSize, 1000)]);
        var (tunnel, id) = await peer.OpenTunnelAsync();
        await tunnel.WriteAsync(Pattern(1000));
        await ReadDataAsync(peer, id, 1000);
        var stream = (Http2Stream)tunnel;

        // RFC 9113 §6.9.2: the new initial size applies to open streams as a delta: 0 + (500 - 1000) = -500.
        await peer.WriteSettingsAsync(new Http2Setting(Http2SettingId.InitialWindowSize, 500));
        await peer.SyncAsync();
        stream.SendWindow.ShouldBe(-500);
        Task write = tunnel.WriteAsync(Pattern(100)).AsTask();

        await peer.WriteWindowUpdateAsync(id, 500); // back to 0: still nothing may be sent
        await peer.SyncAsync();
        stream.SendWindow.ShouldBe(0);
        write.IsCompleted.ShouldBeFalse();

        await peer.WriteWindowUpdateAsync(id, 100);
        (await ReadDataAsync(peer, id, 100)).ShouldBe(Pattern(100));
        await write.WaitAsync(Guard);
        stream.SendWindow.ShouldBe(0);
    }

    [Fact]
    public async Task StreamWindowOverflow_IsStreamFlowControlError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        await peer.WriteWindowUpdateAsync(id, int.MaxValue); // 65535 + 2^31-1 > 2^31-1
        (await peer.ExpectAsync(Http2FrameType.RstStream, id)).ReadUInt32().ShouldBe((uint)Http2ErrorCode.FlowControlError);
        await Should.ThrowAsync<IOException>(tunnel.WriteAsync(new byte[1]).AsTask());
        peer.Client.CanOpenStream.ShouldBeTrue();
    }

    [Fact]
    public async Task ConnectionWindowOverflow_IsConnectionFlowControlError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        await peer.WriteWindowUpdateAsync(0, int.MaxValue);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.FlowControlError);
        await peer.Client.Completion.WaitAsync(Guard);
    }

    [Fact]
    public async Task SettingsRaisingAWindowPastTheMax_IsConnectionFlowControlError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (_, id) = await peer.OpenTunnelAsync();
        await peer.WriteWindowUpdateAsync(id, int.MaxValue - 65535); // exactly at the max
        await peer.WriteSettingsAsync(new Http2Setting(Http2SettingId.InitialWindowSize, 65536));
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.FlowControlError);
    }

    [Fact]
    public async Task ZeroIncrementOnAStream_IsStreamProtocolError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (_, id) = await peer.OpenTunnelAsync();
        await peer.WriteWindowUpdateAsync(id, 0);
        (await peer.ExpectAsync(Http2FrameType.RstStream, id)).ReadUInt32().ShouldBe((uint)Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task ZeroIncrementOnTheConnection_IsConnectionProtocolError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        await peer.WriteWindowUpdateAsync(0, 0);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task WindowUpdate_IsSentAsTheApplicationReads_BatchedPerHalfWindow()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        const int Chunk = 1 << 20;
        for (int i = 0; i < 3; i++)
        {
            await peer.WriteDataAsync(id, Pattern(Chunk));
        }
        await peer.SyncAsync();
        var stream = (Http2Stream)tunnel;
        stream.ReceiveWindow.ShouldBe(HboneDefaults.StreamWindow - (3 * Chunk)); // nothing returned while unread

        await ReadExactlyAsync(tunnel, 2 * Chunk);
        RawFrame update = await peer.ExpectAsync(Http2FrameType.WindowUpdate, id);
        update.ReadUInt32().ShouldBe((uint)(2 * Chunk)); // one update for half the window, not one per frame
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task PeerExceedingOurStreamWindow_IsStreamFlowControlError()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        for (int i = 0; i < 4; i++)
        {
            await peer.WriteDataAsync(id, new byte[1 << 20]);
        }
        await peer.WriteDataAsync(id, new byte[1]); // 4 MiB + 1, never read
        (await peer.ExpectAsync(Http2FrameType.RstStream, id)).ReadUInt32().ShouldBe((uint)Http2ErrorCode.FlowControlError);
        await Should.ThrowAsync<IOException>(ReadExactlyAsync(tunnel, 1));
    }

    [Fact]
    public async Task DataOnAClosedStream_StillReturnsConnectionCredit()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        tunnel.Reset();
        await peer.ExpectAsync(Http2FrameType.RstStream, id);
        // Frames the peer had in flight (or sends anyway) on the reset stream: 9 MiB, more than half the
        // 16 MiB connection window. With the credit lost the connection would stall for good.
        for (int i = 0; i < 9; i++)
        {
            await peer.WriteDataAsync(id, new byte[1 << 20]);
        }
        RawFrame update = await peer.ExpectAsync(Http2FrameType.WindowUpdate, 0);
        update.ReadUInt32().ShouldBeGreaterThanOrEqualTo((uint)HboneDefaults.ConnectionWindow / 2);
    }

    [Fact]
    public async Task Padding_CountsAgainstTheWindow_AndIsCreditedBackAtOnce()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        byte[] payload = new byte[1 + 10 + 200];
        payload[0] = 200;
        "0123456789"u8.CopyTo(payload.AsSpan(1));
        await peer.WriteFrameAsync(Http2FrameType.Data, Http2Flags.Padded, id, payload);
        await peer.SyncAsync();
        var stream = (Http2Stream)tunnel;
        // 211 bytes counted, the 201 bytes of pad length + padding immediately credited back (unacked, batched).
        stream.ReceiveWindow.ShouldBe(HboneDefaults.StreamWindow - 211);
        stream.ReceiveUnacked.ShouldBe(201);
        byte[] read = new byte[100];
        int n = await tunnel.ReadAsync(read);
        read.AsSpan(0, n).ToArray().ShouldBe("0123456789"u8.ToArray());
    }

    [Fact]
    public async Task SlowReader_DoesNotStallOtherStreams()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (slow, slowId) = await peer.OpenTunnelAsync();
        var (fast, fastId) = await peer.OpenTunnelAsync();
        // Fill the slow stream's whole window; nobody reads it.
        for (int i = 0; i < 4; i++)
        {
            await peer.WriteDataAsync(slowId, new byte[1 << 20]);
        }
        await peer.WriteDataAsync(fastId, "still flowing"u8, endStream: true);
        (await Http2ClientConnectionTests.ReadAllAsync(fast)).ShouldBe("still flowing");
        await slow.DisposeAsync();
    }

    internal static byte[] Pattern(int length)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(i * 7 + (i >> 8));
        }
        return data;
    }

    private static async Task<byte[]> ReadDataAsync(RawHttp2Peer peer, int streamId, int total)
    {
        var received = new MemoryStream();
        while (received.Length < total)
        {
            RawFrame frame = await peer.ExpectAsync(Http2FrameType.Data, streamId);
            received.Write(frame.Payload);
        }
        received.Length.ShouldBe(total);
        return received.ToArray();
    }

    private static async Task ReadExactlyAsync(Stream stream, int count)
    {
        byte[] buffer = new byte[64 * 1024];
        while (count > 0)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, count))).AsTask().WaitAsync(Guard);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }
            count -= n;
        }
    }
}
