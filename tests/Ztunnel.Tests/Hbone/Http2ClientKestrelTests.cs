using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;
using Ztunnel.Tests.Hbone.Server;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Hbone;

/// <summary>Our HTTP/2 client against our Kestrel HBONE server, over real loopback mTLS.</summary>
public sealed class Http2ClientKestrelTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Echo_64MiB_ArrivesIntact()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        await using var connection = await ConnectAsync(harness.EndPoint);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:8080", null, CancellationToken.None);
        (byte[] sent, byte[] received) = await PumpAsync(tunnel, 64 * 1024 * 1024);
        SHA256.HashData(received).ShouldBe(SHA256.HashData(sent));
    }

    [Fact]
    public async Task ZeroByteRead_WaitsForDataWithoutConsumingIt()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        await using var connection = await ConnectAsync(harness.EndPoint);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:8080", null, CancellationToken.None);

        // The echo server sends nothing until we do: the zero-byte read is still waiting.
        ValueTask<int> ready = tunnel.ReadAsync(Memory<byte>.Empty);
        ready.IsCompleted.ShouldBeFalse();
        await tunnel.WriteAsync("wake up"u8.ToArray());
        (await ready.AsTask().WaitAsync(Guard)).ShouldBe(0);

        // Nothing was consumed: the data and then the end are all still there.
        await tunnel.CompleteWritesAsync();
        (await tunnel.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Guard)).ShouldBe(0);
        (await Http2ClientConnectionTests.ReadAllAsync(tunnel).WaitAsync(Guard)).ShouldBe("wake up");
    }

    [Fact]
    public async Task HalfClose_ClientFirst_ServerStillAnswers()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        await using var connection = await ConnectAsync(harness.EndPoint);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:8080", null, CancellationToken.None);
        await tunnel.WriteAsync("hello over hbone"u8.ToArray());
        await tunnel.CompleteWritesAsync();
        (await Http2ClientConnectionTests.ReadAllAsync(tunnel)).ShouldBe("hello over hbone");
        connection.ActiveStreams.ShouldBe(0);
    }

    [Fact]
    public async Task HalfClose_ServerFirst_ClientStillSends()
    {
        var serverGot = new TaskCompletionSource<string>();
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            await tunnel.WriteAsync("server says bye"u8.ToArray(), ct);
            await tunnel.CompleteWritesAsync(ct);
            serverGot.SetResult(await Http2ClientConnectionTests.ReadAllAsync(tunnel));
        }));
        await using var connection = await ConnectAsync(harness.EndPoint);
        await using TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:8080", null, CancellationToken.None);
        (await Http2ClientConnectionTests.ReadAllAsync(tunnel)).ShouldBe("server says bye");
        await tunnel.WriteAsync("client still talking"u8.ToArray());
        await tunnel.CompleteWritesAsync();
        (await serverGot.Task.WaitAsync(Guard)).ShouldBe("client still talking");
    }

    [Theory]
    [InlineData(HboneStatus.Unauthorized)]
    [InlineData(HboneStatus.ServiceUnavailable)]
    [InlineData(HboneStatus.BadRequest)]
    public async Task Rejected_SurfacesTheStatus(HboneStatus status)
    {
        await using var harness = await ServerHarness.StartAsync(new TestHandler((_, _) => ValueTask.FromResult(HboneAcceptResult.Reject(status, "no"))));
        await using var connection = await ConnectAsync(harness.EndPoint);
        var error = await Should.ThrowAsync<HboneConnectException>(connection.OpenConnectAsync("10.0.0.5:8080", null, CancellationToken.None));
        error.Status.ShouldBe(status);
        connection.CanOpenStream.ShouldBeTrue();
    }

    [Fact]
    public async Task ClientReset_CancelsTheServerSession()
    {
        var sessionEnded = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            try
            {
                await Http2ClientConnectionTests.ReadAllAsync(tunnel).WaitAsync(ct);
                sessionEnded.SetResult(null);
            }
            catch (Exception e)
            {
                sessionEnded.SetResult(e);
            }
        }));
        await using var connection = await ConnectAsync(harness.EndPoint);
        TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:8080", null, CancellationToken.None);
        tunnel.Reset();
        (await sessionEnded.Task.WaitAsync(Guard)).ShouldNotBeNull("the server session saw the reset as an error, not as a clean end");
    }

    [Fact]
    public async Task ServerReset_FailsClientReads()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run((_, _) => throw new IOException("upstream app reset")));
        await using var connection = await ConnectAsync(harness.EndPoint);

        // The reset may overtake the 200 (the handler fails at once): then the open itself fails. Either way the
        // client sees an error, never a clean end of stream.
        await Should.ThrowAsync<IOException>(async () =>
        {
            TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:8080", null, CancellationToken.None);
            await Http2ClientConnectionTests.ReadAllAsync(tunnel);
        });
    }

    [Fact]
    public async Task ManyConcurrentStreams_OnOneConnection_AllEcho()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        await using var connection = await ConnectAsync(harness.EndPoint);
        var tasks = Enumerable.Range(0, HboneDefaults.MaxStreamsPerConnection).Select(async i =>
        {
            await using TunnelStream tunnel = await connection.OpenConnectAsync("10.0.0.5:8080", null, CancellationToken.None);
            byte[] message = Encoding.ASCII.GetBytes($"stream {i} " + new string('x', i * 100));
            await tunnel.WriteAsync(message);
            await tunnel.CompleteWritesAsync();
            (await Http2ClientConnectionTests.ReadAllAsync(tunnel)).ShouldBe(Encoding.ASCII.GetString(message));
        });
        await Task.WhenAll(tasks).WaitAsync(Guard);
        connection.ActiveStreams.ShouldBe(0);
    }

    internal static async Task<Stream> DialAsync(IPEndPoint endPoint, SpiffeId client, SpiffeId server, CancellationToken ct = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, ct);
            var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await tls.AuthenticateAsClientAsync(TestPki.ClientOptions(client, server), ct);
            return tls;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static async Task<Http2ClientConnection> ConnectAsync(IPEndPoint endPoint) =>
        await Http2ClientConnection.StartAsync(await DialAsync(endPoint, ServerHarness.ClientId, ServerHarness.ServerId),
            TimeProvider.System, NullLogger.Instance, CancellationToken.None).WaitAsync(Guard);

    /// <summary>Writes <paramref name="length"/> random bytes while reading the echo; returns both.</summary>
    internal static async Task<(byte[] Sent, byte[] Received)> PumpAsync(TunnelStream tunnel, int length)
    {
        byte[] sent = RandomNumberGenerator.GetBytes(length);
        Task writing = Task.Run(async () =>
        {
            for (int offset = 0; offset < length; offset += 64 * 1024)
            {
                await tunnel.WriteAsync(sent.AsMemory(offset, Math.Min(64 * 1024, length - offset)));
            }
            await tunnel.CompleteWritesAsync();
        });
        var received = new MemoryStream(length);
        await tunnel.CopyToAsync(received).WaitAsync(Guard);
        await writing.WaitAsync(Guard);
        return (sent, received.ToArray());
    }
}
