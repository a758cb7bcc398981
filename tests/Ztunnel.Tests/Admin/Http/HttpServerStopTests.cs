using System.Net.Sockets;
using Ztunnel.Admin.Http;

namespace Ztunnel.Tests.Admin.Http;

public sealed class HttpServerStopTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Stop_ClosesIdleConnections_AndRefusesNewOnes()
    {
        await using EchoServer echo = EchoServer.Start();
        using RawHttpConnection idle = await echo.ConnectAsync();
        await idle.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        (await idle.ReadResponseAsync()).Status.ShouldBe(200);

        await echo.Server.StopAsync(Guard).WaitAsync(Guard);

        (await idle.IsClosedByServerAsync()).ShouldBeTrue();
        echo.Server.ConnectionCount.ShouldBe(0);
        await Should.ThrowAsync<SocketException>(echo.ConnectAsync);
    }

    [Fact]
    public async Task Stop_LetsARunningRequestFinish_AndItsAnswerSaysClose()
    {
        await using EchoServer echo = EchoServer.Start();
        using RawHttpConnection busy = await RequestInFlightAsync(echo);

        Task stopping = echo.Server.StopAsync(Guard);
        stopping.IsCompleted.ShouldBeFalse();
        echo.OpenGate();

        RawResponse response = await busy.ReadResponseAsync();
        response.Status.ShouldBe(200);
        response.Header("Connection").ShouldBe("close");
        await stopping.WaitAsync(Guard);
        (await busy.IsClosedByServerAsync()).ShouldBeTrue();
    }

    [Fact]
    public async Task Stop_AtTheDeadline_ClosesRequestsStillRunning()
    {
        await using EchoServer echo = EchoServer.Start();
        using RawHttpConnection stuck = await RequestInFlightAsync(echo);

        await echo.Server.StopAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(Guard);

        (await stuck.IsClosedByServerAsync()).ShouldBeTrue();
    }

    /// <summary>A connection whose request waits in the handler until the gate opens.</summary>
    private static async Task<RawHttpConnection> RequestInFlightAsync(EchoServer echo)
    {
        RawHttpConnection client = await echo.ConnectAsync();
        await client.SendAsync("GET /gate HTTP/1.1\r\nHost: x\r\n\r\n");
        await echo.AtGate.WaitAsync(Guard);
        return client;
    }
}
