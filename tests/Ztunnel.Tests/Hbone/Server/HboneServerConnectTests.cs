using System.Net;
using System.Security.Cryptography;
using System.Text;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;

namespace Ztunnel.Tests.Hbone.Server;

public sealed class HboneServerConnectTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Connect_Accepted_EchoesBytesAndEndsAfterClientHalfClose()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        var client = await harness.ConnectAsync();

        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);
        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var writing = Task.Run(async () =>
        {
            await stream.WriteAsync(payload);
            await stream.EndAsync();
        });
        var echoed = await stream.ReadToEndAsync().WaitAsync(Guard);
        await writing.WaitAsync(Guard);

        SHA256.HashData(echoed).ShouldBe(SHA256.HashData(payload));
        stream.EndStreamReceived.ShouldBeTrue();
    }

    [Fact]
    public async Task Connect_Request_CarriesAuthorityIdentityListenerAndHeaders()
    {
        var handler = TestHandler.Echo();
        await using var harness = await ServerHarness.StartAsync(handler);
        var client = await harness.ConnectAsync();

        var stream = await client.ConnectAsync("10.0.0.5:8080",
            ("forwarded", "for=\"10.1.2.3:4711\""),
            ("baggage", "k8s.namespace.name=client-ns"),
            ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        (await stream.StatusAsync()).ShouldBe(200);
        await stream.EndAsync();
        await stream.ReadToEndAsync();

        var request = handler.Requests.ShouldHaveSingleItem();
        request.Authority.ShouldBe(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 8080));
        request.PeerIdentity.ShouldBe(ServerHarness.ClientId);
        request.Listener.ShouldBeSameAs(harness.Info);
        request.Listener.Tag.ShouldBe("server-ns/pod-a");
        request.Forwarded.ShouldBe("for=\"10.1.2.3:4711\"");
        request.ForwardedFor.ShouldBe(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 4711));
        request.Baggage.ShouldBe("k8s.namespace.name=client-ns");
        request.TraceParent.ShouldBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.RemoteEndPoint!.Address.ShouldBe(IPAddress.Loopback);
    }

    [Fact]
    public async Task Get_IsAnswered400_WithoutAskingTheHandler()
    {
        var handler = TestHandler.Echo();
        await using var harness = await ServerHarness.StartAsync(handler);
        var client = await harness.ConnectAsync();

        var stream = await client.OpenAsync([(":method", "GET"), (":scheme", "https"), (":authority", "10.0.0.5:8080"), (":path", "/")], endStream: true);

        (await stream.StatusAsync()).ShouldBe(400);
        handler.Requests.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("example.com:80")]
    [InlineData("10.0.0.5")]
    [InlineData("10.0.0.5:0")]
    [InlineData("10.0.0.5:99999")]
    [InlineData("[fd00::5]")]
    public async Task Connect_BadAuthority_IsAnswered400(string authority)
    {
        var handler = TestHandler.Echo();
        await using var harness = await ServerHarness.StartAsync(handler);
        var client = await harness.ConnectAsync();

        var stream = await client.ConnectAsync(authority);

        (await stream.StatusAsync()).ShouldBe(400);
        handler.Requests.ShouldBeEmpty();
    }

    [Theory]
    [InlineData(HboneStatus.Unauthorized)]
    [InlineData(HboneStatus.ServiceUnavailable)]
    [InlineData(HboneStatus.BadRequest)]
    public async Task Connect_HandlerRejects_IsAnsweredWithItsStatusAndNoBody(HboneStatus status)
    {
        await using var harness = await ServerHarness.StartAsync(
            new TestHandler((_, _) => ValueTask.FromResult(HboneAcceptResult.Reject(status, "test says no"))));
        var client = await harness.ConnectAsync();

        var stream = await client.ConnectAsync("10.0.0.5:8080");

        (await stream.StatusAsync()).ShouldBe((int)status);
        (await stream.ReadToEndAsync()).ShouldBeEmpty();
        stream.EndStreamReceived.ShouldBeTrue();
    }

    [Fact]
    public async Task Connect_HandlerThrows_IsAnswered503()
    {
        await using var harness = await ServerHarness.StartAsync(
            new TestHandler((_, _) => throw new InvalidOperationException("handler bug")));
        var client = await harness.ConnectAsync();

        var stream = await client.ConnectAsync("10.0.0.5:8080");

        (await stream.StatusAsync()).ShouldBe(503);
    }

    [Fact]
    public async Task Connect_HandlerReturnsDefault_IsAnswered503()
    {
        await using var harness = await ServerHarness.StartAsync(new TestHandler((_, _) => ValueTask.FromResult(default(HboneAcceptResult))));
        var client = await harness.ConnectAsync();

        var stream = await client.ConnectAsync("10.0.0.5:8080");

        (await stream.StatusAsync()).ShouldBe(503);
    }

    [Fact]
    public async Task Connect_NoResponseUntilTheHandlerAccepts()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var decide = new TaskCompletionSource<HboneAcceptResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await ServerHarness.StartAsync(new TestHandler(async (request, _) =>
        {
            if (request.Authority.Port != 8080)
            {
                return HboneAcceptResult.Reject(HboneStatus.Unauthorized, "other port");
            }
            entered.TrySetResult();
            return await decide.Task;
        }));
        var client = await harness.ConnectAsync();
        var waiting = await client.ConnectAsync("10.0.0.5:8080");
        await entered.Task.WaitAsync(Guard);

        // A later stream on the same connection gets its answer while the first is still undecided.
        var other = await client.ConnectAsync("10.0.0.5:9090");
        (await other.StatusAsync()).ShouldBe(401);
        waiting.ResponseHeaders.IsCompleted.ShouldBeFalse();

        decide.SetResult(HboneAcceptResult.Accept(new EchoSession()));
        (await waiting.StatusAsync()).ShouldBe(200);
    }

    [Fact]
    public async Task ClientHalfClose_ServerReadsZero_AndCanStillWrite()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            var all = new MemoryStream();
            await tunnel.CopyToAsync(all, ct);
            received.SetResult(Encoding.ASCII.GetString(all.ToArray()));
            await tunnel.WriteAsync("reply after your FIN"u8.ToArray(), ct);
            await tunnel.CompleteWritesAsync(ct);
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        await stream.WriteAsync("request"u8.ToArray());
        await stream.EndAsync();

        (await received.Task.WaitAsync(Guard)).ShouldBe("request");
        Encoding.ASCII.GetString(await stream.ReadToEndAsync()).ShouldBe("reply after your FIN");
        stream.EndStreamReceived.ShouldBeTrue();
    }

    [Fact]
    public async Task ServerHalfClose_ClientGetsEndStream_AndCanStillWrite()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            await tunnel.WriteAsync("hello"u8.ToArray(), ct);
            await tunnel.CompleteWritesAsync(ct);
            var all = new MemoryStream();
            await tunnel.CopyToAsync(all, ct);
            received.SetResult(Encoding.ASCII.GetString(all.ToArray()));
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        Encoding.ASCII.GetString(await stream.ReadToEndAsync()).ShouldBe("hello");
        stream.EndStreamReceived.ShouldBeTrue();
        await stream.WriteAsync("written after your END_STREAM"u8.ToArray());
        await stream.EndAsync();

        (await received.Task.WaitAsync(Guard)).ShouldBe("written after your END_STREAM");
    }

    [Fact]
    public async Task SessionReset_ClientSeesRstStreamCancel()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run((tunnel, _) =>
        {
            tunnel.Reset();
            return Task.CompletedTask;
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        (await stream.Reset.WaitAsync(Guard)).ShouldBe(0x8);
    }

    [Fact]
    public async Task SessionThrows_ClientSeesReset()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            await tunnel.WriteAsync("partial"u8.ToArray(), ct);
            throw new IOException("upstream app reset");
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");

        (await stream.Reset.WaitAsync(Guard)).ShouldBe(0x8);
        stream.EndStreamReceived.ShouldBeFalse();
    }

    [Fact]
    public async Task ClientReset_CancelsTheSession()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            await using var registration = ct.Register(() => cancelled.TrySetResult());
            running.SetResult();
            var buffer = new byte[1024];
            try
            {
                while (await tunnel.ReadAsync(buffer, ct) > 0)
                {
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
            await cancelled.Task;
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);
        await running.Task.WaitAsync(Guard);

        await stream.ResetAsync();

        await cancelled.Task.WaitAsync(Guard);
    }

    [Fact]
    public async Task ZeroByteRead_WaitsForDataWithoutConsumingIt()
    {
        var reads = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            var log = new StringBuilder();
            var buffer = new byte[64];
            while (true)
            {
                int zero = await tunnel.ReadAsync(Memory<byte>.Empty, ct);
                int n = await tunnel.ReadAsync(buffer, ct);
                log.Append($"[{zero}]{Encoding.ASCII.GetString(buffer, 0, n)}");
                if (n == 0)
                {
                    break;
                }
            }
            reads.SetResult(log.ToString());
            await tunnel.CompleteWritesAsync(ct);
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        await stream.WriteAsync("abc"u8.ToArray());
        await stream.EndAsync();

        // Every zero-byte read returned 0 and left the data for the next read; the end reads as 0 too.
        (await reads.Task.WaitAsync(Guard)).ShouldBe("[0]abc[0]");
    }

    [Fact]
    public async Task ExtendedConnect_IsMalformed_StreamResetWithProtocolError()
    {
        var handler = TestHandler.Echo();
        await using var harness = await ServerHarness.StartAsync(handler);
        var client = await harness.ConnectAsync();

        // RFC 8441 extended CONNECT (WebSockets over HTTP/2) is a different protocol, not a TCP tunnel; we
        // never sent SETTINGS_ENABLE_CONNECT_PROTOCOL, so :protocol makes the request malformed (RFC 9113 §8.3).
        var stream = await client.OpenAsync(
            [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"), (":path", "/"), (":authority", "10.0.0.5:8080")],
            endStream: false);

        (await stream.Reset.WaitAsync(Guard)).ShouldBe((int)Http2ErrorCode.ProtocolError);
        handler.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task ClientReset_FailsTheSessionsWrites()
    {
        var writeFailure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await ServerHarness.StartAsync(TestHandler.Run(async (tunnel, ct) =>
        {
            // Writes until the client's RST_STREAM reaches the server.
            var chunk = new byte[256 * 1024];
            try
            {
                while (true)
                {
                    await tunnel.WriteAsync(chunk, ct);
                }
            }
            catch (Exception e)
            {
                writeFailure.SetResult(e);
            }
        }));
        var client = await harness.ConnectAsync();
        var stream = await client.ConnectAsync("10.0.0.5:8080");
        (await stream.StatusAsync()).ShouldBe(200);

        await stream.ResetAsync();

        var failure = await writeFailure.Task.WaitAsync(Guard);
        (failure is IOException or OperationCanceledException).ShouldBeTrue(failure.ToString());
    }
}
