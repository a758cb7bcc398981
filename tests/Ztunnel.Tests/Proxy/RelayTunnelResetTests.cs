using System.Net.Sockets;
using Ztunnel.Hbone;
using Ztunnel.Proxy;
using Ztunnel.Tests.Hbone;

namespace Ztunnel.Tests.Proxy;

/// <summary>
/// A relay between an app socket and an HBONE stream (the outbound path) when the far side resets the stream
/// after it already ended its sending direction: the relay waits only on the app socket then, and must still
/// cut the app connection at once instead of leaving it half-open until the app writes.
/// </summary>
public sealed class RelayTunnelResetTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task StreamReset_AfterItsEndStream_ResetsTheAppConnection_WhileTheAppIsIdle()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, id) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var app = appEnd;
        var appSide = new SocketTunnelStream(relayEnd);
        Task<bool> relay = Relay.RunAsync(appSide, tunnel, new RelayCounters());

        await peer.WriteDataAsync(id, "bye"u8, endStream: true);
        byte[] got = new byte[16];
        (await app.ReceiveAsync(got).WaitAsync(Guard)).ShouldBe(3);
        (await app.ReceiveAsync(got).WaitAsync(Guard)).ShouldBe(0);   // the far side's FIN reached the app

        await peer.WriteRstStreamAsync(id, Http2ErrorCode.Cancel);

        (await relay.WaitAsync(Guard)).ShouldBeFalse();
        var reset = await Should.ThrowAsync<SocketException>(async () =>
        {
            // The app learns of the reset at its next write at the latest (its read side already ended).
            for (int i = 0; i < 1000; i++)
            {
                await app.SendAsync(new byte[1]);
                await Task.Yield();
            }
        });
        reset.SocketErrorCode.ShouldBeOneOf(SocketError.ConnectionReset, SocketError.Shutdown);
        await appSide.DisposeAsync();
        await tunnel.DisposeAsync();
    }

    [Fact]
    public async Task ConnectionLost_ResetsTheAppConnection_OfAnIdleRelay()
    {
        await using var peer = await RawHttp2Peer.StartAsync();
        var (tunnel, _) = await peer.OpenTunnelAsync();
        var (relayEnd, appEnd) = await RelayTests.ConnectedPairAsync();
        using var app = appEnd;
        var appSide = new SocketTunnelStream(relayEnd);
        Task<bool> relay = Relay.RunAsync(appSide, tunnel, new RelayCounters());

        peer.Close();

        (await relay.WaitAsync(Guard)).ShouldBeFalse();
        var ended = await Should.ThrowAsync<SocketException>(async () =>
        {
            while (await app.ReceiveAsync(new byte[16]).WaitAsync(Guard) > 0)
            {
            }
            throw new SocketException((int)SocketError.Shutdown);   // a plain FIN would be a half-close, not a reset
        });
        ended.SocketErrorCode.ShouldBe(SocketError.ConnectionReset);
        await appSide.DisposeAsync();
        await tunnel.DisposeAsync();
    }
}
