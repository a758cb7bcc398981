using System.Net.Security;
using System.Security.Authentication;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Hbone.Server;

public sealed class HboneServerTlsTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Client_WithoutCertificate_IsRefusedBeforeAnyRequest()
    {
        var handler = TestHandler.Echo();
        await using var harness = await ServerHarness.StartAsync(handler);
        var options = TestPki.ClientOptions(ServerHarness.ClientId, ServerHarness.ServerId);
        options.ClientCertificateContext = null;

        // TLS 1.3: the client may finish its handshake before the server's alert arrives, so the refusal
        // shows either as a failed handshake or as a connection closed before any response.
        try
        {
            var client = await harness.ConnectAsync(harness.EndPoint, options);
            var stream = await client.ConnectAsync("10.0.0.5:8080");
            await Should.ThrowAsync<IOException>(() => stream.ResponseHeaders.WaitAsync(Guard));
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
        }
        handler.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task Client_FromAnotherTrustDomain_IsRefused()
    {
        var handler = TestHandler.Echo();
        await using var harness = await ServerHarness.StartAsync(handler);
        using var otherRoot = CertificateMinter.CreateRoot("other.domain", DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        var stranger = CertificateMinter.IssueWorkload(otherRoot, new SpiffeId("other.domain", "x", "y"), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        var options = HboneTls.ClientOptions(stranger, TestPki.Bundle, ServerHarness.ServerId);

        try
        {
            var client = await harness.ConnectAsync(harness.EndPoint, options);
            var stream = await client.ConnectAsync("10.0.0.5:8080");
            await Should.ThrowAsync<IOException>(() => stream.ResponseHeaders.WaitAsync(Guard));
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
        }
        handler.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task Server_NegotiatesTls13AndH2()
    {
        await using var harness = await ServerHarness.StartAsync(TestHandler.Echo());
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(harness.EndPoint);
        await using var ssl = new SslStream(tcp.GetStream());

        await ssl.AuthenticateAsClientAsync(TestPki.ClientOptions(ServerHarness.ClientId, ServerHarness.ServerId)).WaitAsync(Guard);

        ssl.SslProtocol.ShouldBe(SslProtocols.Tls13);
        ssl.NegotiatedApplicationProtocol.ShouldBe(SslApplicationProtocol.Http2);
        HboneTls.GetPeerIdentity(ssl).ShouldBe(ServerHarness.ServerId);
    }
}
