using System.Buffers;
using System.Text;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>
/// A client that breaks HTTP/2 on purpose, against our server: each case ends in the RFC 9113 answer
/// (RST_STREAM for a stream error, GOAWAY for a connection error), never a crash, hang or leak; a
/// connection error also closes the connection.
/// </summary>
public sealed class Http2ServerHostileClientTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static async Task ExpectConnectionErrorAsync(RawHttp2Client client, Http2ErrorCode code)
    {
        (await client.ReadUntilGoAwayAsync()).ShouldBe(code);
        await client.ReadUntilClosedAsync();
    }

    [Fact]
    public async Task BadPreface_IsProtocolError_AndCloses()
    {
        await using var client = await RawHttp2Client.ConnectAsync(TestHandler.Echo());
        await client.WriteRawAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        await ExpectConnectionErrorAsync(client, Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task NoPreface_WithinTheTimeout_ClosesTheConnection()
    {
        var time = new ManualTimeProvider();
        await using var client = await RawHttp2Client.ConnectAsync(TestHandler.Echo(), time);
        // The server preface comes first; the preface timer was armed before it went out.
        (await client.ReadFrameAsync()).Type.ShouldBe(Http2FrameType.Settings);
        Task<Http2ErrorCode?> goAway = client.ReadUntilGoAwayAsync();
        time.Advance(TimeSpan.FromSeconds(11));
        (await goAway.WaitAsync(Guard)).ShouldBe(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task FirstFrameNotSettings_IsProtocolError()
    {
        await using var client = await RawHttp2Client.ConnectAsync(TestHandler.Echo());
        await client.WriteRawAsync(Http2FrameWriter.ClientPreface.ToArray());
        await client.WriteConnectAsync(1);
        await ExpectConnectionErrorAsync(client, Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task HeadersOnEvenStream_IsProtocolError()
    {
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Echo());
        await client.WriteConnectAsync(2);
        await ExpectConnectionErrorAsync(client, Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task DecreasingStreamId_IsProtocolError()
    {
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Echo());
        await client.WriteConnectAsync(5);
        (await client.ReadStatusAsync(5)).ShouldBe(200);
        await client.WriteConnectAsync(3);
        await ExpectConnectionErrorAsync(client, Http2ErrorCode.ProtocolError);
    }

    public static TheoryData<string, string[]> MalformedRequests => new()
    {
        { "missing :authority", [":method", "CONNECT"] },
        { ":path on CONNECT", [":method", "CONNECT", ":authority", "10.0.0.5:80", ":path", "/"] },
        { ":scheme on CONNECT", [":method", "CONNECT", ":authority", "10.0.0.5:80", ":scheme", "https"] },
        { "extended CONNECT", [":method", "CONNECT", ":protocol", "websocket", ":authority", "10.0.0.5:80", ":scheme", "https", ":path", "/"] },
        { "uppercase header name", [":method", "CONNECT", ":authority", "10.0.0.5:80", "Forwarded", "for=1.2.3.4"] },
        { "connection-specific header", [":method", "CONNECT", ":authority", "10.0.0.5:80", "connection", "keep-alive"] },
        { "pseudo-header after regular", [":method", "CONNECT", "baggage", "a=b", ":authority", "10.0.0.5:80"] },
        { "duplicate :authority", [":method", "CONNECT", ":authority", "10.0.0.5:80", ":authority", "10.0.0.6:80"] },
        { "response pseudo-header", [":method", "CONNECT", ":authority", "10.0.0.5:80", ":status", "200"] },
        { "no :method", [":authority", "10.0.0.5:80"] },
        { "CR in a value", [":method", "CONNECT", ":authority", "10.0.0.5:80", "baggage", "a\rb"] },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task MalformedRequest_IsStreamProtocolError_AndTheConnectionLivesOn(string why, string[] fields)
    {
        var handler = TestHandler.Echo();
        await using var client = await RawHttp2Client.StartAsync(handler);
        var pairs = fields.Chunk(2).Select(p => (p[0], p[1]));

        await client.WriteHeadersAsync(1, pairs);

        (await client.ReadResetAsync(1)).ShouldBe(Http2ErrorCode.ProtocolError, why);
        handler.Requests.ShouldBeEmpty();
        await client.WriteConnectAsync(3);
        (await client.ReadStatusAsync(3)).ShouldBe(200);
    }

    [Fact]
    public async Task HpackBomb_IsCompressionError()
    {
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Echo());
        // The header list cap (16 KiB) stops the bomb before its strings are produced.
        byte[] block = RawHttp2Endpoint.HpackBombBlock();
        await client.WriteFrameAsync(Http2FrameType.Headers, Http2Flags.EndHeaders, 1, block);
        await ExpectConnectionErrorAsync(client, Http2ErrorCode.CompressionError);
    }

    [Fact]
    public async Task ContinuationFlood_IsEnhanceYourCalm()
    {
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Echo());
        var frames = new ArrayBufferWriter<byte>();
        Http2FrameWriter.WriteFrame(frames, Http2FrameType.Headers, Http2Flags.None, 1, TestHpack.Encode([(":method", "CONNECT")]));
        for (int i = 0; i < 10_000; i++)
        {
            Http2FrameWriter.WriteFrame(frames, Http2FrameType.Continuation, Http2Flags.None, 1, default);
        }
        await client.WriteRawAsync(frames.WrittenMemory);
        await ExpectConnectionErrorAsync(client, Http2ErrorCode.EnhanceYourCalm);
    }

    [Fact]
    public async Task RapidReset_IsEnhanceYourCalm()
    {
        // The handler never decides: every reset stream is one the server had not answered yet.
        var handler = new TestHandler(async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return default;
        });
        await using var client = await RawHttp2Client.StartAsync(handler);
        Task<Http2ErrorCode?> goAway = client.ReadUntilGoAwayAsync();
        byte[] connect = TestHpack.Encode(RawHttp2Client.Connect());
        int id = 1;
        // Open-and-reset pairs in batches, until the server has had enough (CVE-2023-44487).
        for (int batch = 0; batch < 100 && !goAway.IsCompleted; batch++)
        {
            var frames = new ArrayBufferWriter<byte>();
            for (int i = 0; i < 500; i++, id += 2)
            {
                Http2FrameWriter.WriteFrame(frames, Http2FrameType.Headers, Http2Flags.EndHeaders, id, connect);
                RawHttp2Client.WriteRstStream(frames, id, Http2ErrorCode.Cancel);
            }
            try
            {
                await client.WriteRawAsync(frames.WrittenMemory);
            }
            catch (IOException)
            {
                break; // the server closed
            }
        }
        (await goAway.WaitAsync(Guard)).ShouldBe(Http2ErrorCode.EnhanceYourCalm);
        await client.ReadUntilClosedAsync();
    }

    [Fact]
    public async Task ResettingEstablishedTunnels_IsNotRapidReset()
    {
        var hold = new TaskCompletionSource();
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Run((_, ct) => hold.Task.WaitAsync(ct)));
        // More resets than the rapid-reset budget holds, each of a tunnel the server had answered: aborted
        // TCP connections, ordinary traffic.
        for (int id = 1; id < 2 * 1000; id += 2)
        {
            await client.WriteConnectAsync(id);
            (await client.ReadStatusAsync(id)).ShouldBe(200);
            await client.WriteRstStreamAsync(id, Http2ErrorCode.Cancel);
        }
        await client.SyncAsync();
        await client.WriteConnectAsync(2001);
        (await client.ReadStatusAsync(2001)).ShouldBe(200);
        hold.SetResult();
    }

    [Fact]
    public async Task SettingsFlood_WithoutReading_IsEnhanceYourCalm()
    {
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Echo());
        // 24 MiB of empty SETTINGS, each owed a 9-byte ACK that we do not read: the server's queue of
        // ACKs passes its limit once the socket buffers are full (CVE-2019-9515).
        var frames = new ArrayBufferWriter<byte>();
        for (int i = 0; i < 1024 * 1024 / 9; i++)
        {
            Http2FrameWriter.WriteSettings(frames, []);
        }
        try
        {
            for (int i = 0; i < 24; i++)
            {
                await client.WriteRawAsync(frames.WrittenMemory);
            }
        }
        catch (IOException)
        {
            // The server may close before we are done.
        }
        await ExpectConnectionErrorAsync(client, Http2ErrorCode.EnhanceYourCalm);
    }

    [Fact]
    public async Task DataBeyondTheStreamWindow_IsStreamFlowControlError()
    {
        var hold = new TaskCompletionSource();
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Run((_, ct) => hold.Task.WaitAsync(ct)));
        await client.WriteConnectAsync(1);
        (await client.ReadStatusAsync(1)).ShouldBe(200);
        // The session never reads: the 4 MiB stream window is all the client may send.
        byte[] megabyte = new byte[1024 * 1024];
        for (int i = 0; i < HboneDefaults.StreamWindow / megabyte.Length; i++)
        {
            await client.WriteDataAsync(1, megabyte);
        }
        await client.WriteDataAsync(1, "x"u8);
        (await client.ReadResetAsync(1)).ShouldBe(Http2ErrorCode.FlowControlError);
        // The unread 4 MiB went back to the connection window: another stream still works.
        await client.WriteConnectAsync(3);
        (await client.ReadStatusAsync(3)).ShouldBe(200);
        hold.SetResult();
    }

    [Fact]
    public async Task StreamsBeyondMaxConcurrentStreams_AreRefused()
    {
        var hold = new TaskCompletionSource();
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Run((_, ct) => hold.Task.WaitAsync(ct)));
        int limit = HboneDefaults.MaxStreamsPerConnection;
        for (int i = 0; i < limit; i++)
        {
            await client.WriteConnectAsync((2 * i) + 1);
        }
        for (int i = 0; i < limit; i++)
        {
            await client.ExpectAsync(Http2FrameType.Headers); // the 200s
        }
        int extra = (2 * limit) + 1;
        await client.WriteConnectAsync(extra);
        (await client.ReadResetAsync(extra)).ShouldBe(Http2ErrorCode.RefusedStream);
        hold.SetResult();
    }

    [Fact]
    public async Task DataOnIdleStream_IsProtocolError()
    {
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Echo());
        await client.WriteDataAsync(7, Encoding.ASCII.GetBytes("early"));
        await ExpectConnectionErrorAsync(client, Http2ErrorCode.ProtocolError);
    }
}
