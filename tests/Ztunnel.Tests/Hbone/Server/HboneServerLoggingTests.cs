using Microsoft.Extensions.Logging;
using Ztunnel.Hbone.Server;

namespace Ztunnel.Tests.Hbone.Server;

public sealed class HboneServerLoggingTests
{
    [Fact]
    public async Task Tunnels_AddNoInformationLines_ButHandlerFailuresAreErrors()
    {
        var provider = new CollectingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Information));
        var server = new HboneServer(new TestHandler((request, _) => request.Authority.Port == 1
            ? throw new InvalidOperationException("handler bug")
            : ValueTask.FromResult(HboneAcceptResult.Accept(new EchoSession()))), loggerFactory);
        await server.StartAsync();
        var (_, info) = ServerHarness.AddListener(server, "ns/pod", ServerHarness.ServerId);
        await using (var client = await TestH2Client.ConnectAsync(info.LocalEndPoint, TestPki.ClientOptions(ServerHarness.ClientId, ServerHarness.ServerId)))
        {
            var ok = await client.ConnectAsync("10.0.0.5:80");
            (await ok.StatusAsync()).ShouldBe(200);
            await ok.EndAsync();
            await ok.ReadToEndAsync();
            (await (await client.ConnectAsync("not-an-ip:80")).StatusAsync()).ShouldBe(400);
            (await (await client.ConnectAsync("10.0.0.5:1")).StatusAsync()).ShouldBe(503);
        }
        await server.DisposeAsync();

        var lines = provider.Lines;
        // Information is for the server's lifecycle (listeners, stop); tunnels and connections log below it.
        lines.Where(l => l.Level == LogLevel.Information
                && !l.Category.EndsWith(".HboneServer", StringComparison.Ordinal) && !l.Category.EndsWith(".HboneListenerSet", StringComparison.Ordinal))
            .ShouldBeEmpty();
        lines.ShouldContain(l => l.Category.EndsWith(".HboneListenerSet", StringComparison.Ordinal) && l.Message.Contains("ns/pod"));
        var failure = lines.Where(l => l.Level == LogLevel.Error).ShouldHaveSingleItem();
        failure.Message.ShouldContain("CONNECT 10.0.0.5:1");
        failure.Message.ShouldContain("503");
    }
}
