using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

public sealed class Http2KeepaliveTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task IdleConnection_IsPinged_AndStaysOpenWhenAnswered()
    {
        var time = new ManualTimeProvider();
        await using var peer = await RawHttp2Peer.StartAsync(time: time);
        time.Advance(HboneDefaults.PingInterval); // the server SETTINGS counted as traffic
        time.Advance(HboneDefaults.PingInterval); // now idle: PING
        RawFrame ping = await peer.ExpectAsync(Http2FrameType.Ping);
        ping.Header.HasFlag(Http2Flags.Ack).ShouldBeFalse();
        await peer.WriteFrameAsync(Http2FrameType.Ping, Http2Flags.Ack, 0, ping.Payload);
        await peer.SyncAsync();
        time.Advance(HboneDefaults.PingTimeout + HboneDefaults.PingInterval);
        peer.Client.CanOpenStream.ShouldBeTrue();
        peer.Client.Completion.IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public async Task UnansweredPing_ClosesTheConnection_AndFailsItsStreams()
    {
        var time = new ManualTimeProvider();
        await using var peer = await RawHttp2Peer.StartAsync(time: time);
        var (tunnel, _) = await peer.OpenTunnelAsync();
        time.Advance(HboneDefaults.PingInterval);
        time.Advance(HboneDefaults.PingInterval);
        await peer.ExpectAsync(Http2FrameType.Ping);
        time.Advance(HboneDefaults.PingTimeout);
        (await peer.ReadUntilGoAwayAsync()).ShouldBe(Http2ErrorCode.NoError);
        await peer.Client.Completion.WaitAsync(Guard);
        var error = await Should.ThrowAsync<IOException>(tunnel.ReadAsync(new byte[1]).AsTask().WaitAsync(Guard));
        error.Message.ShouldContain("PING");
    }
}
