using Ztunnel.Admin.Http;

namespace Ztunnel.Tests.Admin.Http;

/// <summary>Hostile and malformed input on raw sockets: each is answered with its status and the connection closed.</summary>
public sealed class HttpServerLimitsTests : EchoServerTests
{
    [Theory]
    [InlineData("GARBAGE\r\n\r\n", 400, "malformed request line")]
    [InlineData("GET /\r\n\r\n", 400, "malformed request line")]
    [InlineData("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request target")]
    [InlineData("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "malformed request")]
    [InlineData("GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400, "malformed HTTP version")]
    [InlineData("G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line")]
    [InlineData("GET nopath HTTP/1.1\r\nHost: x\r\n\r\n", 400, "is not a path")]
    [InlineData("GET / HTTP/1.1\r\n\r\n", 400, "without a Host header")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host")]
    [InlineData("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed header field")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "obsolete line folding")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n", 400, "control character")]
    [InlineData("GET / HTTP/1.1\nHost: x\n\n", 400, "CRLF")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n", 400, "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400, "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413, "over the limit of 65536 bytes")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", 413, "over the limit of 65536 bytes")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411, "chunked request bodies are not accepted")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "transfer coding 'gzip' is not implemented")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n", 417, "only 100-continue")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2.0 is not supported")]
    public async Task BadRequest_IsAnsweredWithItsReason_AndClosed(string request, int status, string reason)
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync(request);

        RawResponse response = await client.ReadResponseAsync();

        response.Status.ShouldBe(status);
        response.Body.ShouldContain(reason);
        response.Header("Connection").ShouldBe("close");
        (await client.IsClosedByServerAsync()).ShouldBeTrue();
    }

    [Fact]
    public async Task HeadOverTheLimit_Is431()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 9000) + "\r\n\r\n");

        RawResponse response = await client.ReadResponseAsync();

        response.Status.ShouldBe(431);
        response.Body.ShouldContain("over the limit of 8192 bytes");
        (await client.IsClosedByServerAsync()).ShouldBeTrue();
    }

    [Fact]
    public async Task EndlessHeadWithoutItsBlankLine_Is431()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("GET / HTTP/1.1\r\n");
        for (int i = 0; i < 200; i++)
        {
            await client.SendAsync($"X-{i}: {new string('v', 60)}\r\n");
        }

        (await client.ReadResponseAsync()).Status.ShouldBe(431);
    }

    [Fact]
    public async Task TooManyHeaderFields_Is431()
    {
        string fields = string.Concat(Enumerable.Range(0, 70).Select(i => $"X-{i}: v\r\n"));
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync($"GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n");

        RawResponse response = await client.ReadResponseAsync();

        response.Status.ShouldBe(431);
        response.Body.ShouldContain("more than 64 header fields");
    }

    [Fact]
    public async Task BodyAtTheLimit_IsAccepted()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync($"POST /max HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n{new string('b', 65536)}");

        RawResponse response = await client.ReadResponseAsync();

        response.Status.ShouldBe(200);
        response.Body.Length.ShouldBeGreaterThan(65536);
    }

    [Fact]
    public async Task OversizedBodyWithExpectContinue_Is413_WithoutWaitingForTheBody()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n");

        (await client.ReadResponseAsync()).Status.ShouldBe(413);
    }

    [Fact]
    public async Task OversizedBodySentAnyway_StillGetsTheAnswer()
    {
        // The server half-closes and drains, so the client's unread bytes do not turn into a reset that eats the 413.
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + new string('z', 100_000));

        (await client.ReadResponseAsync()).Status.ShouldBe(413);
    }

    [Fact]
    public async Task ClientHangingUpMidBody_LeavesTheServerServing()
    {
        using (RawHttpConnection client = await Echo.ConnectAsync())
        {
            await client.SendAsync("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part");
        }
        using RawHttpConnection next = await Echo.ConnectAsync();
        await next.SendAsync("GET /still HTTP/1.1\r\nHost: x\r\n\r\n");
        (await next.ReadResponseAsync()).Status.ShouldBe(200);
    }

    [Fact]
    public async Task RandomBytes_AreRefused_NeverCrashTheServer()
    {
        var random = new Random(4711);
        for (int i = 0; i < 20; i++)
        {
            byte[] junk = new byte[random.Next(1, 3000)];
            random.NextBytes(junk);
            using RawHttpConnection client = await Echo.ConnectAsync();
            await client.SendAsync([.. junk, .. "\r\n\r\n"u8.ToArray()]);
            (await client.ReadResponseAsync()).Status.ShouldBeOneOf(400, 431, 505);
        }
        using RawHttpConnection good = await Echo.ConnectAsync();
        await good.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        (await good.ReadResponseAsync()).Status.ShouldBe(200);
    }
}
