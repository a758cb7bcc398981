using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ztunnel.Proxy;

namespace Ztunnel.Tests.Proxy;

/// <summary>
/// The relay between two real TCP connections: app-client &lt;-&gt; [relay] &lt;-&gt; app-server, over loopback.
/// </summary>
public sealed class RelayTests : IAsyncLifetime
{
    private Socket _client = null!;      // the application's client end
    private Socket _server = null!;      // the application's server end
    private SocketTunnelStream _relayDown = null!;  // the relay's ends: owned (and disposed) by whoever runs the relay
    private SocketTunnelStream _relayUp = null!;
    private TrackedConnection _tracked = null!;
    private Task<bool> _relay = null!;

    public async Task InitializeAsync()
    {
        var (client, relayDown) = await ConnectedPairAsync();
        var (relayUp, server) = await ConnectedPairAsync();
        _client = client;
        _server = server;
        _relayDown = new SocketTunnelStream(relayDown);
        _relayUp = new SocketTunnelStream(relayUp);
        _tracked = new ConnectionTracker(TimeProvider.System).Register(
            new ConnectionDescription(ConnectionDirection.InboundPlaintext, (IPEndPoint)client.LocalEndPoint!, (IPEndPoint)server.LocalEndPoint!, null, null, null, null),
            _relayDown, _relayUp);
        _relay = Relay.RunAsync(_relayDown, _relayUp, _tracked.Counters);
    }

    public Task DisposeAsync()
    {
        _tracked.Close("test over");
        _client.Dispose();
        _server.Dispose();
        _relayDown.Dispose();
        _relayUp.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task BulkData_ArrivesIntactBothWays_AndIsCounted()
    {
        byte[] up = RandomNumberGenerator.GetBytes(8 * 1024 * 1024 + 13);
        byte[] down = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 7);
        long chunksBefore = RelayCounters.ChunksRelayed;

        Task sendUp = SendAndFinishAsync(_client, up);
        Task sendDown = SendAndFinishAsync(_server, down);
        byte[] atServer = await ReadToEndAsync(_server);
        byte[] atClient = await ReadToEndAsync(_client);
        await Task.WhenAll(sendUp, sendDown).WaitAsync(TimeSpan.FromSeconds(60));
        (await _relay.WaitAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue();

        SHA256.HashData(atServer).ShouldBe(SHA256.HashData(up));
        SHA256.HashData(atClient).ShouldBe(SHA256.HashData(down));
        _tracked.Counters.ClientToServer.ShouldBe(up.Length);
        _tracked.Counters.ServerToClient.ShouldBe(down.Length);
        // The process-wide count the memory trimmer reads (other tests only add to it): chunks are at most
        // Relay.MaxBufferSize, so these two transfers took at least this many.
        (RelayCounters.ChunksRelayed - chunksBefore).ShouldBeGreaterThanOrEqualTo((up.Length + down.Length) / Relay.MaxBufferSize);
    }

    [Fact]
    public async Task ClientHalfClose_ReachesServer_WhileServerCanStillAnswer()
    {
        await _client.SendAsync("request"u8.ToArray());
        _client.Shutdown(SocketShutdown.Send);

        byte[] request = await ReadToEndAsync(_server);           // returns only once the FIN came through
        request.ShouldBe("request"u8.ToArray());
        await _server.SendAsync("late answer"u8.ToArray());
        _server.Shutdown(SocketShutdown.Send);

        (await ReadToEndAsync(_client)).ShouldBe("late answer"u8.ToArray());
        await _relay.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ServerReset_ResetsClient()
    {
        await _client.SendAsync("x"u8.ToArray());
        var one = new byte[1];
        (await _server.ReceiveAsync(one)).ShouldBe(1);

        _server.LingerState = new LingerOption(true, 0);
        _server.Close();                                            // RST

        await _relay.WaitAsync(TimeSpan.FromSeconds(30));
        var ex = await Should.ThrowAsync<SocketException>(async () =>
        {
            // The reset reaches the client either as a reset read or as a reset on the next write.
            while (await _client.ReceiveAsync(new byte[16]) > 0) { }
            await _client.SendAsync(new byte[1]);
            await _client.SendAsync(new byte[1]);
        });
        ex.SocketErrorCode.ShouldBe(SocketError.ConnectionReset);
    }

    [Fact]
    public async Task Close_ResetsBothEnds_OfAnIdleRelay()
    {
        _tracked.Close("policy changed");

        (await _relay.WaitAsync(TimeSpan.FromSeconds(30))).ShouldBeFalse();
        (await ReadUntilClosedAsync(_client)).ShouldBeTrue();
        (await ReadUntilClosedAsync(_server)).ShouldBeTrue();
        _tracked.CloseReason.ShouldBe("policy changed");
    }

    [Fact]
    public async Task CutByToken_ResetsBothEnds_WhileDataFlows()
    {
        using var podRemoved = new CancellationTokenSource();
        using CancellationTokenRegistration cut = _tracked.CutWhen(podRemoved.Token);
        await _client.SendAsync("before"u8.ToArray());
        var six = new byte[6];
        (await _server.ReceiveAsync(six)).ShouldBe(6);

        await podRemoved.CancelAsync();

        (await _relay.WaitAsync(TimeSpan.FromSeconds(30))).ShouldBeFalse();
        (await ReadUntilClosedAsync(_client)).ShouldBeTrue();
        (await ReadUntilClosedAsync(_server)).ShouldBeTrue();
        _tracked.CloseReason.ShouldBeNull();
    }

    [Fact]
    public async Task Writes_LargerThanTheSocketBuffer_AllArrive_InOrder()
    {
        // The relay's first send never waits; what the socket buffer does not take goes out asynchronously.
        byte[] burst = RandomNumberGenerator.GetBytes(32 * 1024 * 1024);
        Task send = SendAndFinishAsync(_client, burst);
        byte[] atServer = await ReadToEndAsync(_server);
        await send;

        SHA256.HashData(atServer).ShouldBe(SHA256.HashData(burst));
    }

    private static async Task<bool> ReadUntilClosedAsync(Socket socket)
    {
        try
        {
            while (await socket.ReceiveAsync(new byte[64]).WaitAsync(TimeSpan.FromSeconds(30)) > 0) { }
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static async Task SendAndFinishAsync(Socket socket, byte[] data)
    {
        for (int offset = 0; offset < data.Length; offset += 64 * 1024)
        {
            await socket.SendAsync(data.AsMemory(offset, Math.Min(64 * 1024, data.Length - offset)));
        }
        socket.Shutdown(SocketShutdown.Send);
    }

    internal static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(TimeSpan.FromSeconds(60))) > 0)
        {
            all.Write(buffer, 0, read);
        }
        return all.ToArray();
    }

    internal static async Task<(Socket Connecting, Socket Accepted)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var connecting = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await connecting.ConnectAsync(listener.LocalEndPoint!);
        return (connecting, await accept);
    }
}
