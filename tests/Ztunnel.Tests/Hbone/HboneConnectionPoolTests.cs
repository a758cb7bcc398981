using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;
using Ztunnel.Tests.Hbone.Server;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Hbone;

public sealed class HboneConnectionPoolTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ConcurrentOpeners_WaitForOneDial()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        var dialer = new CountingTlsDialer();
        await using var pool = new HboneConnectionPool(dialer.DialAsync, TimeProvider.System, NullLogger.Instance);
        HbonePoolKey key = Key(harness.EndPoint);
        TunnelStream[] tunnels = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(_ => pool.ConnectAsync(key, "10.0.0.5:8080", null, CancellationToken.None))).WaitAsync(Guard);
        dialer.Dials.ShouldBe(1);
        pool.ConnectionCount(key).ShouldBe(1);
        await EchoAndCloseAsync(tunnels);
    }

    [Fact]
    public async Task MoreThan100Streams_SpreadOverConnections_OfAtMost100()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        var dialer = new CountingTlsDialer();
        await using var pool = new HboneConnectionPool(dialer.DialAsync, TimeProvider.System, NullLogger.Instance);
        HbonePoolKey key = Key(harness.EndPoint);
        TunnelStream[] tunnels = await Task.WhenAll(Enumerable.Range(0, 250)
            .Select(_ => pool.ConnectAsync(key, "10.0.0.5:8080", null, CancellationToken.None))).WaitAsync(Guard);
        var connections = pool.GetConnections(key);
        connections.Count.ShouldBe(3);
        dialer.Dials.ShouldBe(3);
        connections.Sum(c => c.ActiveStreams).ShouldBe(250);
        connections.ShouldAllBe(c => c.ActiveStreams <= HboneDefaults.MaxStreamsPerConnection);
        await EchoAndCloseAsync(tunnels);
    }

    [Fact]
    public async Task DifferentKeys_GetDifferentConnections()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        var dialer = new CountingTlsDialer();
        await using var pool = new HboneConnectionPool(dialer.DialAsync, TimeProvider.System, NullLogger.Instance);
        HbonePoolKey a = Key(harness.EndPoint);
        HbonePoolKey b = a with { Source = TestPki.Id("other-ns", "other-sa") };
        await EchoAndCloseAsync([await pool.ConnectAsync(a, "10.0.0.5:8080", null, CancellationToken.None)]);
        await EchoAndCloseAsync([await pool.ConnectAsync(b, "10.0.0.5:8080", null, CancellationToken.None)]);
        await EchoAndCloseAsync([await pool.ConnectAsync(a, "10.0.0.5:8080", null, CancellationToken.None)]);
        dialer.Dials.ShouldBe(2);
    }

    [Fact]
    public async Task BrokenConnection_IsNeverHandedOutAgain()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        var dialer = new CountingTlsDialer();
        await using var pool = new HboneConnectionPool(dialer.DialAsync, TimeProvider.System, NullLogger.Instance);
        HbonePoolKey key = Key(harness.EndPoint);
        await EchoAndCloseAsync([await pool.ConnectAsync(key, "10.0.0.5:8080", null, CancellationToken.None)]);
        Http2ClientConnection first = pool.GetConnections(key).ShouldHaveSingleItem();
        await dialer.Transports[0].DisposeAsync(); // the network goes away under the connection
        await first.Completion.WaitAsync(Guard);
        await EchoAndCloseAsync([await pool.ConnectAsync(key, "10.0.0.5:8080", null, CancellationToken.None)]);
        dialer.Dials.ShouldBe(2);
        pool.GetConnections(key).ShouldHaveSingleItem().ShouldNotBeSameAs(first);
    }

    [Fact]
    public async Task GoAwayConnection_NewStreamsGoToANewConnection_OldStreamFinishes()
    {
        var peers = new List<RawHttp2Peer>();
        HboneDialer dialer = async (_, _) =>
        {
            var (peer, client) = await RawHttp2Peer.CreatePairAsync();
            peer.StartHandshake(); // before the test can see the peer: it awaits Handshake before reading
            lock (peers)
            {
                peers.Add(peer);
            }
            return client;
        };
        await using var pool = new HboneConnectionPool(dialer, TimeProvider.System, NullLogger.Instance);
        HbonePoolKey key = Key(new IPEndPoint(IPAddress.Loopback, 15008));
        Task<TunnelStream> open = pool.ConnectAsync(key, "10.0.0.5:8080", null, CancellationToken.None);
        RawHttp2Peer first = await WaitForPeerAsync(peers, 0);
        var (id, _, _) = await first.ReadRequestAsync();
        await first.RespondAsync(id, 200);
        TunnelStream old = await open.WaitAsync(Guard);

        await first.WriteGoAwayAsync(id, Http2ErrorCode.NoError);
        await first.SyncAsync();
        open = pool.ConnectAsync(key, "10.0.0.6:8080", null, CancellationToken.None);
        RawHttp2Peer second = await WaitForPeerAsync(peers, 1);
        var (id2, headers, _) = await second.ReadRequestAsync();
        headers.ShouldContain((":authority", "10.0.0.6:8080"));
        await second.RespondAsync(id2, 200);
        await using TunnelStream fresh = await open.WaitAsync(Guard);

        // The stream on the GOAWAY'd connection still finishes normally.
        await old.WriteAsync("last words"u8.ToArray());
        Encoding.ASCII.GetString((await first.ExpectAsync(Http2FrameType.Data, id)).Payload).ShouldBe("last words");
        await old.DisposeAsync();
        foreach (var peer in peers)
        {
            await peer.DisposeAsync();
        }
    }

    [Fact]
    public async Task DialFailure_ReachesEveryWaiter_AndTheNextCallDialsAgain()
    {
        int dials = 0;
        HboneDialer dialer = async (_, ct) =>
        {
            Interlocked.Increment(ref dials);
            await Task.Yield();
            throw new IOException("connection refused by test");
        };
        await using var pool = new HboneConnectionPool(dialer, TimeProvider.System, NullLogger.Instance);
        HbonePoolKey key = Key(new IPEndPoint(IPAddress.Loopback, 15008));
        Task<TunnelStream>[] opens = Enumerable.Range(0, 10).Select(_ => pool.ConnectAsync(key, "10.0.0.5:8080", null, CancellationToken.None)).ToArray();
        foreach (var open in opens)
        {
            (await Should.ThrowAsync<IOException>(open.WaitAsync(Guard))).Message.ShouldContain("connection refused by test");
        }
        dials.ShouldBe(1);
        await Should.ThrowAsync<IOException>(pool.ConnectAsync(key, "10.0.0.5:8080", null, CancellationToken.None));
        dials.ShouldBe(2);
    }

    [Fact]
    public async Task IdleConnection_IsClosedAfterTheIdleTimeout_BusyOneIsNot()
    {
        var time = new ManualTimeProvider();
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        var dialer = new CountingTlsDialer();
        await using var pool = new HboneConnectionPool(dialer.DialAsync, time, NullLogger.Instance);
        HbonePoolKey idleKey = Key(harness.EndPoint);
        HbonePoolKey busyKey = idleKey with { Source = TestPki.Id("busy-ns", "busy-sa") };
        await EchoAndCloseAsync([await pool.ConnectAsync(idleKey, "10.0.0.5:8080", null, CancellationToken.None)]);
        await using TunnelStream busy = await pool.ConnectAsync(busyKey, "10.0.0.5:8080", null, CancellationToken.None);
        Http2ClientConnection idle = pool.GetConnections(idleKey).ShouldHaveSingleItem();

        time.AdvanceClockOnly(HboneDefaults.PoolIdleTimeout - TimeSpan.FromSeconds(1));
        pool.CloseIdleConnections();
        pool.ConnectionCount(idleKey).ShouldBe(1);

        time.AdvanceClockOnly(TimeSpan.FromSeconds(1));
        pool.CloseIdleConnections();
        pool.ConnectionCount(idleKey).ShouldBe(0);
        await idle.Completion.WaitAsync(Guard);
        pool.ConnectionCount(busyKey).ShouldBe(1);

        await EchoAndCloseAsync([await pool.ConnectAsync(idleKey, "10.0.0.5:8080", null, CancellationToken.None)]);
        dialer.Dials.ShouldBe(3);
    }

    [Fact]
    public async Task PeerAllowingNoStreams_FailsInsteadOfDiallingForever()
    {
        int dials = 0;
        var peers = new List<RawHttp2Peer>();
        HboneDialer dialer = async (_, _) =>
        {
            Interlocked.Increment(ref dials);
            var (peer, client) = await RawHttp2Peer.CreatePairAsync();
            peer.StartHandshake(new Http2Setting(Http2SettingId.MaxConcurrentStreams, 0));
            lock (peers)
            {
                peers.Add(peer);
            }
            return client;
        };
        await using var pool = new HboneConnectionPool(dialer, TimeProvider.System, NullLogger.Instance);
        HbonePoolKey key = Key(new IPEndPoint(IPAddress.Loopback, 15008));
        var error = await Should.ThrowAsync<Http2StreamRefusedException>(pool.ConnectAsync(key, "10.0.0.5:8080", null, CancellationToken.None).WaitAsync(Guard));
        error.Message.ShouldContain("could not take a stream");
        dials.ShouldBeLessThanOrEqualTo(3);
        foreach (var peer in peers)
        {
            await peer.DisposeAsync();
        }
    }

    internal static HbonePoolKey Key(IPEndPoint endPoint) => new(ServerHarness.ClientId, ServerHarness.ServerId, endPoint);

    private static async Task<RawHttp2Peer> WaitForPeerAsync(List<RawHttp2Peer> peers, int index)
    {
        // The dialer runs on the pool's dial task; the peer appears when it has run.
        using var timeout = new CancellationTokenSource(Guard);
        while (true)
        {
            RawHttp2Peer? peer = null;
            lock (peers)
            {
                if (peers.Count > index)
                {
                    peer = peers[index];
                }
            }
            if (peer is not null)
            {
                await peer.Handshake.WaitAsync(Guard);
                return peer;
            }
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }

    private static async Task EchoAndCloseAsync(TunnelStream[] tunnels)
    {
        await Task.WhenAll(tunnels.Select(async (tunnel, i) =>
        {
            byte[] message = Encoding.ASCII.GetBytes($"tunnel {i}");
            await tunnel.WriteAsync(message);
            await tunnel.CompleteWritesAsync();
            (await Http2ClientConnectionTests.ReadAllAsync(tunnel)).ShouldBe($"tunnel {i}");
            await tunnel.DisposeAsync();
        })).WaitAsync(Guard);
    }

    /// <summary>Dials real mTLS connections to the test server and counts them.</summary>
    private sealed class CountingTlsDialer
    {
        private int _dials;

        public int Dials => Volatile.Read(ref _dials);
        public List<Stream> Transports { get; } = [];

        public async Task<Stream> DialAsync(HbonePoolKey key, CancellationToken ct)
        {
            Interlocked.Increment(ref _dials);
            Stream transport = await Http2ClientKestrelTests.DialAsync(key.Address, key.Source, key.Destination, ct);
            lock (Transports)
            {
                Transports.Add(transport);
            }
            return transport;
        }
    }
}
