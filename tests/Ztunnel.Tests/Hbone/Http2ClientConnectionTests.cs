using System.Text;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

public sealed class Http2ClientConnectionTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Start_SendsPrefaceSettingsAndConnectionWindow()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        RawFrame settings = peer.ClientPrefaceFrames[0];
        settings.Type.ShouldBe(Http2FrameType.Settings);
        var values = Enumerable.Range(0, settings.Payload.Length / 6)
            .Select(i => Http2FrameReader.ReadSetting(new(settings.Payload), i)).ToDictionary(s => s.Id, s => s.Value);
        values[Http2SettingId.EnablePush].ShouldBe(0u);
        values[Http2SettingId.InitialWindowSize].ShouldBe((uint)HboneDefaults.StreamWindow);
        values[Http2SettingId.MaxFrameSize].ShouldBe((uint)HboneDefaults.MaxFrameSize);
        values[Http2SettingId.MaxHeaderListSize].ShouldBe((uint)HboneDefaults.MaxHeaderListSize);
        RawFrame window = peer.ClientPrefaceFrames[1];
        window.Type.ShouldBe(Http2FrameType.WindowUpdate);
        window.StreamId.ShouldBe(0);
        (window.ReadUInt32() + 65535).ShouldBe((uint)HboneDefaults.ConnectionWindow);
        (await peer.ExpectAsync(Http2FrameType.Settings)).Header.HasFlag(Http2Flags.Ack).ShouldBeTrue();
    }

    [Fact]
    public async Task OpenConnect_SendsConnectWithoutSchemeOrPath_AndExtraHeaders()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.1.2.3:8080",
            [new("forwarded", "for=\"10.0.0.9:4000\""), new("traceparent", "00-abc-def-01")], CancellationToken.None);
        var (id, headers, frame) = await peer.ReadRequestAsync();
        id.ShouldBe(1);
        frame.Header.HasFlag(Http2Flags.EndStream).ShouldBeFalse();
        headers.ShouldBe([(":method", "CONNECT"), (":authority", "10.1.2.3:8080"), ("forwarded", "for=\"10.0.0.9:4000\""), ("traceparent", "00-abc-def-01")]);
        await peer.RespondAsync(id, 200);
        await using TunnelStream tunnel = await open.WaitAsync(Guard);
        peer.Client.ActiveStreams.ShouldBe(1);
    }

    [Fact]
    public async Task Tunnel_CarriesDataBothWays_AndHalfClosesEachWay()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        await tunnel.WriteAsync("ping"u8.ToArray());
        await tunnel.CompleteWritesAsync();
        RawFrame data = await peer.ExpectAsync(Http2FrameType.Data, id);
        Encoding.ASCII.GetString(data.Payload).ShouldBe("ping");
        RawFrame end = await peer.ExpectAsync(Http2FrameType.Data, id);
        end.Payload.Length.ShouldBe(0);
        end.Header.HasFlag(Http2Flags.EndStream).ShouldBeTrue();

        // Our side is closed; the peer can still send until it half-closes too.
        await peer.WriteDataAsync(id, "pong"u8);
        await peer.WriteDataAsync(id, "!"u8, endStream: true);
        (await ReadAllAsync(tunnel)).ShouldBe("pong!");
        peer.Client.ActiveStreams.ShouldBe(0);
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task PeerHalfClosesFirst_ReadReturnsZero_WritesStillWork()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        await peer.WriteDataAsync(id, "bye"u8, endStream: true);
        (await ReadAllAsync(tunnel)).ShouldBe("bye");
        await tunnel.WriteAsync("still here"u8.ToArray());
        Encoding.ASCII.GetString((await peer.ExpectAsync(Http2FrameType.Data, id)).Payload).ShouldBe("still here");
        await tunnel.DisposeAsync();
        // Disposing a stream that is still open on our side resets it.
        (await peer.ExpectAsync(Http2FrameType.RstStream, id)).ReadUInt32().ShouldBe((uint)Http2ErrorCode.Cancel);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(503)]
    public async Task NonOkStatus_ThrowsHboneConnectExceptionWithThatStatus(int status)
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        await peer.RespondAsync(id, status, endStream: true);
        var error = await Should.ThrowAsync<HboneConnectException>(open.WaitAsync(Guard));
        error.StatusCode.ShouldBe(status);
        error.Message.ShouldContain("10.0.0.1:80");
        peer.Client.ActiveStreams.ShouldBe(0);
    }

    [Fact]
    public async Task InterimResponse_IsSkipped()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        await peer.RespondAsync(id, 103);
        await peer.RespondAsync(id, 200);
        await using TunnelStream tunnel = await open.WaitAsync(Guard);
    }

    [Fact]
    public async Task ResetBeforeResponse_ThrowsIOExceptionNamingTheReset()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        await peer.WriteRstStreamAsync(id, Http2ErrorCode.InternalError);
        var error = await Should.ThrowAsync<IOException>(open.WaitAsync(Guard));
        error.Message.ShouldContain("reset by the peer");
        error.Message.ShouldContain("InternalError");
    }

    [Fact]
    public async Task RefusedStream_IsRetryable()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        Task<TunnelStream> open = peer.Client.OpenConnectAsync("10.0.0.1:80", null, CancellationToken.None);
        var (id, _, _) = await peer.ReadRequestAsync();
        await peer.WriteRstStreamAsync(id, Http2ErrorCode.RefusedStream);
        await Should.ThrowAsync<Http2StreamRefusedException>(open.WaitAsync(Guard));
        peer.Client.CanOpenStream.ShouldBeTrue();
    }

    [Fact]
    public async Task PeerResetAfterOpen_FailsReadsAndWrites()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        Task<int> pendingRead = tunnel.ReadAsync(new byte[10]).AsTask();
        await peer.WriteRstStreamAsync(id, Http2ErrorCode.Cancel);
        await Should.ThrowAsync<IOException>(pendingRead.WaitAsync(Guard));
        await Should.ThrowAsync<IOException>(tunnel.WriteAsync(new byte[10]).AsTask().WaitAsync(Guard));
        peer.Client.ActiveStreams.ShouldBe(0);
    }

    [Fact]
    public async Task LocalReset_SendsRstCancel_AndFailsPendingRead()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        Task<int> pendingRead = tunnel.ReadAsync(new byte[10]).AsTask();
        tunnel.Reset();
        (await peer.ExpectAsync(Http2FrameType.RstStream, id)).ReadUInt32().ShouldBe((uint)Http2ErrorCode.Cancel);
        await Should.ThrowAsync<IOException>(pendingRead.WaitAsync(Guard));
    }

    [Fact]
    public async Task GoAway_FailsStreamsAboveLastIdAsRetryable_LetsOthersFinish_ThenCloses()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (first, firstId) = await peer.OpenTunnelAsync();
        Task<TunnelStream> second = peer.Client.OpenConnectAsync("10.0.0.2:80", null, CancellationToken.None);
        await peer.ReadRequestAsync();
        await peer.WriteGoAwayAsync(firstId, Http2ErrorCode.NoError);
        await Should.ThrowAsync<Http2StreamRefusedException>(second.WaitAsync(Guard));
        peer.Client.CanOpenStream.ShouldBeFalse();
        await Should.ThrowAsync<Http2StreamRefusedException>(peer.Client.OpenConnectAsync("10.0.0.3:80", null, CancellationToken.None));

        // The stream the peer kept still works both ways.
        await first.WriteAsync("in flight"u8.ToArray());
        await first.CompleteWritesAsync();
        Encoding.ASCII.GetString((await peer.ExpectAsync(Http2FrameType.Data, firstId)).Payload).ShouldBe("in flight");
        peer.Client.Completion.IsCompleted.ShouldBeFalse();
        await peer.WriteDataAsync(firstId, "done"u8, endStream: true);
        (await ReadAllAsync(first)).ShouldBe("done");
        await peer.Client.Completion.WaitAsync(Guard);
    }

    [Fact]
    public async Task PeerMaxConcurrentStreams_IsHonoured()
    {
        await using var peer = await RawHttp2Peer.StartAsync([new(Http2SettingId.MaxConcurrentStreams, 2)]);
        var (a, _) = await peer.OpenTunnelAsync();
        var (b, _) = await peer.OpenTunnelAsync();
        peer.Client.CanOpenStream.ShouldBeFalse();
        await Should.ThrowAsync<Http2StreamRefusedException>(peer.Client.OpenConnectAsync("10.0.0.3:80", null, CancellationToken.None));
        await a.DisposeAsync();
        peer.Client.CanOpenStream.ShouldBeTrue();
        await b.DisposeAsync();
    }

    [Fact]
    public async Task Shutdown_SendsGoAway_WaitsForOpenStreams()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        Task shutdown = peer.Client.ShutdownAsync(CancellationToken.None);
        (await peer.ExpectAsync(Http2FrameType.GoAway)).ReadUInt32(4).ShouldBe((uint)Http2ErrorCode.NoError);
        peer.Client.CanOpenStream.ShouldBeFalse();
        shutdown.IsCompleted.ShouldBeFalse();
        await tunnel.CompleteWritesAsync();
        await peer.WriteDataAsync(id, default, endStream: true);
        (await ReadAllAsync(tunnel)).ShouldBe("");
        await shutdown.WaitAsync(Guard);
    }

    [Fact]
    public async Task PeerClosesSocket_FailsStreams_AndCompletes()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, _) = await peer.OpenTunnelAsync();
        peer.Close();
        await Should.ThrowAsync<IOException>(ReadAllAsync(tunnel).WaitAsync(Guard));
        await peer.Client.Completion.WaitAsync(Guard);
        peer.Client.CanOpenStream.ShouldBeFalse();
    }

    internal static async Task<string> ReadAllAsync(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all).WaitAsync(Guard);
        return Encoding.ASCII.GetString(all.ToArray());
    }
}
