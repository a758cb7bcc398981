using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone.Server;

namespace Ztunnel.Tests.Hbone.Server;

public sealed class HboneServerLifecycleTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Listener_AddedWhileRunning_ServesWithItsOwnCertificate()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        var podB = TestPki.Id("b-ns", "b-sa");
        var (handle, info) = ServerHarness.AddListener(harness.Server, "b-ns/pod-b", podB);
        await using var _ = handle;

        // The client insists on pod B's identity: only B's certificate passes.
        var client = await harness.ConnectAsync(info.LocalEndPoint, TestPki.ClientOptions(ServerHarness.ClientId, podB));
        var stream = await client.ConnectAsync("10.0.0.6:80");
        (await stream.StatusAsync()).ShouldBe(200);
        await stream.WriteAsync("ping"u8.ToArray());
        await stream.EndAsync();
        Encoding.ASCII.GetString(await stream.ReadToEndAsync()).ShouldBe("ping");
        harness.Server.Listeners.Listeners.Count.ShouldBe(2);
    }

    [Fact]
    public async Task Listener_Removed_RefusesNewConnections_EstablishedTunnelContinues()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        await harness.Listener.DisposeAsync().AsTask().WaitAsync(Guard);

        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Should.ThrowAsync<SocketException>(() => probe.ConnectAsync(harness.EndPoint).WaitAsync(Guard));
        refused.SocketErrorCode.ShouldBe(SocketError.ConnectionRefused);
        harness.Server.Listeners.Listeners.ShouldBeEmpty();

        await stream.WriteAsync("still here"u8.ToArray());
        await stream.EndAsync();
        Encoding.ASCII.GetString(await stream.ReadToEndAsync().WaitAsync(Guard)).ShouldBe("still here");
        // A new stream on the established connection works too.
        var second = await client.ConnectAsync("10.0.0.5:8080");
        (await second.StatusAsync()).ShouldBe(200);
    }

    [Fact]
    public async Task Stop_WithoutListenersOrConnections_Completes()
    {
        var server = new HboneServer(TestHandler.Echo(), NullLoggerFactory.Instance);
        await server.StartAsync();

        await server.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(Guard);
        await server.DisposeAsync().AsTask().WaitAsync(Guard);
    }

    [Fact]
    public async Task Stop_WithListenerPendingAccept_CompletesAndClosesTheSocket()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());

        await harness.Server.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(Guard);

        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Should.ThrowAsync<SocketException>(() => probe.ConnectAsync(harness.EndPoint).WaitAsync(Guard));
        refused.SocketErrorCode.ShouldBe(SocketError.ConnectionRefused);
    }

    [Fact]
    public async Task Stop_SendsGoAway_AndLetsAnOpenTunnelFinishWithinTheDeadline()
    {
        var sessionCancelled = false;
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            var all = new MemoryStream();
            await tunnel.CopyToAsync(all, ct);
            sessionCancelled = ct.IsCancellationRequested;
            await tunnel.WriteAsync(all.ToArray(), ct);
            await tunnel.CompleteWritesAsync(ct);
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        var stopping = harness.Server.StopAsync(TimeSpan.FromSeconds(60));
        await client.GoAway.WaitAsync(Guard);
        // A megabyte after the GOAWAY: the draining connection keeps working (socket reads, pooled buffers).
        var payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024 * 1024);
        await stream.WriteAsync(payload);
        await stream.EndAsync();

        (await stream.ReadToEndAsync().WaitAsync(Guard)).ShouldBe(payload);
        await stopping.WaitAsync(Guard);
        sessionCancelled.ShouldBeFalse();
    }

    [Fact]
    public async Task Stop_AfterTheDeadline_AbortsOpenTunnels()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            await using var registration = ct.Register(() => cancelled.TrySetResult());
            await cancelled.Task;
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        await harness.Server.StopAsync(TimeSpan.Zero).WaitAsync(Guard);

        await cancelled.Task.WaitAsync(Guard);
        await client.Closed.WaitAsync(Guard);
    }

    [Fact]
    public async Task Add_AfterStop_Throws()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        await harness.Server.StopAsync(TimeSpan.Zero);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();

        Should.Throw<ObjectDisposedException>(() =>
            harness.Server.Listeners.Add(socket, new HboneListenerInfo("late", (IPEndPoint)socket.LocalEndPoint!, null)));
    }

    [Fact]
    public async Task Stop_WithASessionIgnoringCancellation_StillCompletes()
    {
        var never = new TaskCompletionSource();
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run((_, _) => never.Task));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        await harness.Server.StopAsync(TimeSpan.Zero).WaitAsync(Guard);

        await client.Closed.WaitAsync(Guard);
        never.SetResult();
    }

    [Fact]
    public async Task Plaintext_ServesCleartextHttp2WithoutIdentity()
    {
        var handler = TestHandler.Echo();
        await using var server = new HboneServer(handler, NullLoggerFactory.Instance, new HboneServerOptions { UseTls = false });
        await server.StartAsync();
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        var info = new HboneListenerInfo("plain", (IPEndPoint)socket.LocalEndPoint!, null);
        await using var listener = server.Listeners.Add(socket, info);
        await using var client = await TestH2Client.ConnectAsync(info.LocalEndPoint, tls: null);

        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);
        await stream.WriteAsync("plain"u8.ToArray());
        await stream.EndAsync();

        Encoding.ASCII.GetString(await stream.ReadToEndAsync().WaitAsync(Guard)).ShouldBe("plain");
        handler.Requests.ShouldHaveSingleItem().PeerIdentity.ShouldBeNull();
    }
}
