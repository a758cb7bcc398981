using System.Buffers.Binary;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>How our server ends connections on purpose: the two-step graceful GOAWAY and the idle timeout.</summary>
public sealed class Http2ServerDrainTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Stop_FirstGoAwayRefusesNothing_StreamsInFlightAreServed_FinalGoAwayNamesTheLast()
    {
        var hold = new TaskCompletionSource();
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Run((_, ct) => hold.Task.WaitAsync(ct)));
        await client.WriteConnectAsync(1);
        (await client.ReadStatusAsync(1)).ShouldBe(200);

        Task stopping = client.Server.StopAsync(TimeSpan.FromSeconds(60));
        RawFrame first = await client.ExpectAsync(Http2FrameType.GoAway);
        (first.ReadUInt32() & 0x7FFF_FFFF).ShouldBe((uint)int.MaxValue);
        RawFrame drainPing = await client.ExpectAsync(Http2FrameType.Ping);
        drainPing.Header.HasFlag(Http2Flags.Ack).ShouldBeFalse();

        // A stream the client sent before it saw the GOAWAY (here: before answering the PING) is served.
        await client.WriteConnectAsync(3);
        (await client.ReadStatusAsync(3)).ShouldBe(200);
        await client.WritePingAsync(BinaryPrimitives.ReadUInt64BigEndian(drainPing.Payload), ack: true);
        RawFrame final = await client.ExpectAsync(Http2FrameType.GoAway);
        (final.ReadUInt32() & 0x7FFF_FFFF).ShouldBe(3u);
        ((Http2ErrorCode)final.ReadUInt32(4)).ShouldBe(Http2ErrorCode.NoError);

        // After the final GOAWAY a new stream is refused (safe to retry elsewhere).
        await client.WriteConnectAsync(5);
        (await client.ReadResetAsync(5)).ShouldBe(Http2ErrorCode.RefusedStream);
        stopping.IsCompleted.ShouldBeFalse();
        hold.SetResult(); // the sessions end: both streams close, then the connection, then the stop
        await client.ReadUntilClosedAsync();
        await stopping.WaitAsync(Guard);
    }

    [Fact]
    public async Task Stop_TheLastTunnelsEndStream_IsSentBeforeTheConnectionCloses()
    {
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Echo());
        await client.WriteConnectAsync(1);
        (await client.ReadStatusAsync(1)).ShouldBe(200);
        Task stopping = client.Server.StopAsync(TimeSpan.FromSeconds(60));
        RawFrame drainPing = await client.ExpectAsync(Http2FrameType.Ping);
        await client.WritePingAsync(BinaryPrimitives.ReadUInt64BigEndian(drainPing.Payload), ack: true);
        RawFrame final = await client.ExpectAsync(Http2FrameType.GoAway);
        (final.ReadUInt32() & 0x7FFF_FFFF).ShouldBe(1u);

        // Our half-close: the echo session ends its side, which ends the last stream and so the connection.
        // Its END_STREAM, written by the session itself while nothing else is queued, must still go out.
        await client.WriteDataAsync(1, default, endStream: true);
        RawFrame end = await client.ExpectAsync(Http2FrameType.Data, 1);
        end.Header.HasFlag(Http2Flags.EndStream).ShouldBeTrue();
        await client.ReadUntilClosedAsync();
        await stopping.WaitAsync(Guard);
    }

    [Fact]
    public async Task Connection_WithoutStreamsForTheIdleTimeout_IsClosedWithGoAway()
    {
        var time = new ManualTimeProvider();
        await using var client = await RawHttp2Client.StartAsync(TestHandler.Echo(), time);
        await client.SyncAsync(0x1); // the server has our SETTINGS: the preface timeout is out of the way
        const ulong Sync = 0x5E5E;
        TimeSpan idle = TimeSpan.Zero;
        RawFrame? goAway = null;
        while (goAway is null && idle < TimeSpan.FromHours(1))
        {
            time.Advance(TimeSpan.FromSeconds(10));
            idle += TimeSpan.FromSeconds(10);
            // A PING round trip: the server has run the tick's work once our PING's ACK is back.
            await client.WritePingAsync(Sync);
            while (true)
            {
                RawFrame frame = await client.ReadFrameAsync();
                if (frame.Type == Http2FrameType.GoAway)
                {
                    goAway = frame;
                    break;
                }
                if (frame.Type == Http2FrameType.Ping && frame.Header.HasFlag(Http2Flags.Ack) && BinaryPrimitives.ReadUInt64BigEndian(frame.Payload) == Sync)
                {
                    break;
                }
            }
        }
        goAway.ShouldNotBeNull();
        ((Http2ErrorCode)goAway.ReadUInt32(4)).ShouldBe(Http2ErrorCode.NoError);
        idle.ShouldBeGreaterThanOrEqualTo(2 * HboneDefaults.PoolIdleTimeout); // not before the timeout
        idle.ShouldBeLessThan((2 * HboneDefaults.PoolIdleTimeout) + TimeSpan.FromSeconds(30));
    }
}
