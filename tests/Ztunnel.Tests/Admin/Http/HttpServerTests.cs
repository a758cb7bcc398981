using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Admin.Http;

namespace Ztunnel.Tests.Admin.Http;

public sealed class HttpServerTests : EchoServerTests
{
    [Fact]
    public async Task KeepAlive_ServesManyRequestsOnOneConnection_WithContentLength()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        for (int i = 0; i < 3; i++)
        {
            await client.SendAsync($"GET /n{i} HTTP/1.1\r\nHost: x\r\n\r\n");
            RawResponse response = await client.ReadResponseAsync();
            response.StatusLine.ShouldBe("HTTP/1.1 200 OK");
            response.Body.ShouldStartWith($"GET /n{i} ");
            response.Header("Content-Length").ShouldBe(response.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            response.Header("Connection").ShouldBeNull();
            response.Header("Content-Type").ShouldBe("text/plain; charset=utf-8");
        }
    }

    [Fact]
    public async Task HttpClient_ReusesItsConnection()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{Echo.Server.LocalEndPoint}") };
        for (int i = 0; i < 5; i++)
        {
            (await http.GetStringAsync("/x?level=info")).ShouldContain("level=info");
        }
        Echo.Server.ConnectionCount.ShouldBe(1);
    }

    [Fact]
    public async Task PipelinedRequests_AreAnsweredInOrder()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: x\r\n\r\n");

        (await client.ReadResponseAsync()).Body.ShouldStartWith("GET /a ");
        (await client.ReadResponseAsync()).Body.ShouldEndWith("body=abc");
        (await client.ReadResponseAsync()).Body.ShouldStartWith("GET /c ");
    }

    [Fact]
    public async Task Http10_IsAnsweredAndClosed_UnlessItAsksForKeepAlive()
    {
        using (RawHttpConnection client = await Echo.ConnectAsync())
        {
            await client.SendAsync("GET /old HTTP/1.0\r\n\r\n");
            RawResponse response = await client.ReadResponseAsync();
            response.Status.ShouldBe(200);
            response.Header("Connection").ShouldBe("close");
            (await client.IsClosedByServerAsync()).ShouldBeTrue();
        }
        using (RawHttpConnection client = await Echo.ConnectAsync())
        {
            await client.SendAsync("GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            (await client.ReadResponseAsync()).Header("Connection").ShouldBe("keep-alive");
            await client.SendAsync("GET /two HTTP/1.0\r\n\r\n");
            (await client.ReadResponseAsync()).Body.ShouldStartWith("GET /two");
        }
    }

    [Fact]
    public async Task ConnectionClose_IsHonoured()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        (await client.ReadResponseAsync()).Header("Connection").ShouldBe("close");
        (await client.IsClosedByServerAsync()).ShouldBeTrue();
    }

    [Fact]
    public async Task Head_SendsTheHeadOfTheGetAnswer_WithoutItsBody()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
        RawResponse get = await client.ReadResponseAsync();

        await client.SendAsync("HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        RawResponse head = await client.ReadResponseAsync(head: true);

        head.Status.ShouldBe(200);
        head.Header("Content-Length").ShouldBe("100000");
        get.Body.Length.ShouldBe(100_000);
        // The next answer follows the head directly: no body bytes were sent.
        (await client.ReadResponseAsync()).Body.ShouldStartWith("GET /after");
    }

    [Fact]
    public async Task Query_IsParsedAndDecoded_HeadersAreCaseInsensitive()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("POST /logging?x=1&level=de%62ug+now&level=second HTTP/1.1\r\nHost: x\r\nx-TEST:  spaced value \r\nContent-Length: 0\r\n\r\n");

        string body = (await client.ReadResponseAsync()).Body;

        body.ShouldBe("POST /logging query=x=1&level=de%62ug+now&level=second level=debug now x-test=spaced value body=");
    }

    [Fact]
    public async Task AbsoluteFormTarget_AndLeadingEmptyLines_AreAccepted()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("\r\n\r\nGET http://127.0.0.1:15000/config_dump?level=info HTTP/1.1\r\nHost: x\r\n\r\n");

        (await client.ReadResponseAsync()).Body.ShouldStartWith("GET /config_dump query=level=info");
    }

    [Fact]
    public async Task ExpectContinue_Gets100_ThenTheAnswer()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("POST /v1/pods HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");

        (await client.ReadResponseAsync()).Status.ShouldBe(100);
        await client.SendAsync("hello");
        (await client.ReadResponseAsync()).Body.ShouldEndWith("body=hello");
    }

    [Fact]
    public async Task HandlerFailure_Is500_AndTheConnectionStaysUsable()
    {
        using RawHttpConnection client = await Echo.ConnectAsync();
        await client.SendAsync("GET /fail HTTP/1.1\r\nHost: x\r\n\r\n");
        RawResponse failed = await client.ReadResponseAsync();

        failed.Status.ShouldBe(500);
        failed.Body.ShouldContain("handler exploded");
        await client.SendAsync("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
        (await client.ReadResponseAsync()).Status.ShouldBe(200);
    }

    [Fact]
    public void Start_OnAPortInUse_IsIOExceptionNamingTheEndpoint()
    {
        var ex = Should.Throw<IOException>(() =>
            HttpServer.Start("metrics", Echo.Server.LocalEndPoint, (_, _, _) => ValueTask.CompletedTask, NullLoggerFactory.Instance));

        ex.Message.ShouldContain($"cannot serve the metrics endpoint on {Echo.Server.LocalEndPoint}");
    }

    [Fact]
    public async Task UnixSocket_ServesRequests()
    {
        string path = Path.Combine(Path.GetTempPath(), $"adminhttp-{Guid.NewGuid():N}.sock");
        await using HttpServer server = HttpServer.Start("unix", new System.Net.Sockets.UnixDomainSocketEndPoint(path),
            (_, response, _) => { response.Text(200, "over unix\n"); return ValueTask.CompletedTask; }, NullLoggerFactory.Instance);
        try
        {
            using RawHttpConnection client = await RawHttpConnection.ConnectAsync(server.LocalEndPoint);
            await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            (await client.ReadResponseAsync()).Body.ShouldBe("over unix\n");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
