using Ztunnel.Admin.Http;

namespace Ztunnel.Tests.Admin.Http;

/// <summary>
/// Timeouts and the connection limit. The server's bounds are set short here (real time); the tests only wait
/// for what the server does, with generous hang guards.
/// </summary>
public sealed class HttpServerTimeoutTests
{
    private static readonly HttpServerOptions Short = new()
    {
        RequestTimeout = TimeSpan.FromMilliseconds(300),
        KeepAliveTimeout = TimeSpan.FromMilliseconds(300),
    };

    [Fact]
    public async Task SilentClient_IsDropped()
    {
        await using EchoServer echo = EchoServer.Start(Short);
        using RawHttpConnection client = await echo.ConnectAsync();

        (await client.IsClosedByServerAsync()).ShouldBeTrue();
    }

    [Fact]
    public async Task TricklingClient_IsDropped_ThoughItKeepsSending()
    {
        await using EchoServer echo = EchoServer.Start(Short);
        using RawHttpConnection client = await echo.ConnectAsync();
        await client.SendAsync("GET / HTTP/1.1\r\n");
        Task<bool> closed = client.IsClosedByServerAsync();

        // One byte of a header field every 50 ms: the deadline runs from the first byte, more bytes do not extend it.
        for (int i = 0; i < 400 && !closed.IsCompleted; i++)
        {
            try
            {
                await client.SendAsync("a");
            }
            catch (System.Net.Sockets.SocketException)
            {
                break;
            }
            await Task.Delay(50);
        }

        (await closed).ShouldBeTrue();
    }

    [Fact]
    public async Task IdleKeptAliveConnection_IsClosedAfterTheKeepAliveTimeout()
    {
        await using EchoServer echo = EchoServer.Start(Short);
        using RawHttpConnection client = await echo.ConnectAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        (await client.ReadResponseAsync()).Status.ShouldBe(200);

        (await client.IsClosedByServerAsync()).ShouldBeTrue();
    }

    [Fact]
    public async Task ConnectionOverTheLimit_Is503AndClosed_OthersKeepWorking()
    {
        await using EchoServer echo = EchoServer.Start(new HttpServerOptions { MaxConnections = 2 });
        using RawHttpConnection first = await echo.ConnectAsync();
        using RawHttpConnection second = await echo.ConnectAsync();
        foreach (RawHttpConnection client in new[] { first, second })
        {
            await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            (await client.ReadResponseAsync()).Status.ShouldBe(200);
        }

        using RawHttpConnection third = await echo.ConnectAsync();
        RawResponse refused = await third.ReadResponseAsync();

        refused.Status.ShouldBe(503);
        refused.Body.ShouldBe("too many connections\n");
        (await third.IsClosedByServerAsync()).ShouldBeTrue();
        await first.SendAsync("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
        (await first.ReadResponseAsync()).Status.ShouldBe(200);
    }
}
