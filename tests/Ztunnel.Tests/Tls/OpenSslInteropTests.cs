using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Tls;

/// <summary>Our HBONE TLS against openssl s_server / s_client as the independent peer.</summary>
public sealed class OpenSslInteropTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _pki.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task OurClient_OpenSslServerRequiringClientCert_ConnectsWithH2AndNoSni()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        OpenSslPeerFiles.WritePem(_dir, _pki, "server", serverCert);
        using OpenSslProcess server = OpenSslProcess.Start(_dir.Path,
            "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_3", "-alpn", "h2",
            "-cert", "server.crt", "-key", "server.key", "-CAfile", "root.pem", "-Verify", "1", "-verify_return_error",
            "-tlsextdebug", "-rev");
        int port = await server.AcceptPortAsync();

        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await tcp.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(LoopbackTls.HangGuard);
        await using var tls = new SslStream(new NetworkStream(tcp, ownsSocket: true));
        await tls.AuthenticateAsClientAsync(HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity)).WaitAsync(LoopbackTls.HangGuard);
        await tls.WriteAsync("hbone\n"u8.ToArray());
        string echoed = await OpenSslPeerFiles.ReadLineAsync(tls);

        echoed.ShouldBe("enobh"); // s_server -rev answered, so it accepted our client certificate
        tls.SslProtocol.ShouldBe(SslProtocols.Tls13);
        tls.NegotiatedApplicationProtocol.ShouldBe(SslApplicationProtocol.Http2);
        HboneTls.GetPeerIdentity(tls).ShouldBe(serverCert.Identity);
        await tls.DisposeAsync();
        await server.WaitForExitAsync();
        server.Output.ShouldContain("Protocol version: TLSv1.3");
        server.Output.ShouldContain("Verification: OK"); // openssl's own verification of our client leaf
        server.Output.ShouldNotContain("server name"); // -tlsextdebug lists every ClientHello extension: no SNI
        server.Output.ShouldContain("application layer protocol negotiation");
    }

    [Fact]
    public async Task OurClient_SecondConnection_IsNotResumedSoEveryHandshakeVerifiesIdentity()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        OpenSslPeerFiles.WritePem(_dir, _pki, "server", serverCert);
        using OpenSslProcess server = OpenSslProcess.Start(_dir.Path,
            "s_server", "-accept", "127.0.0.1:0", "-naccept", "2", "-tls1_3", "-alpn", "h2",
            "-cert", "server.crt", "-key", "server.key", "-CAfile", "root.pem", "-Verify", "1", "-tlsextdebug", "-rev");
        int port = await server.AcceptPortAsync();
        SslClientAuthenticationOptions options = HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity);

        for (int i = 0; i < 2; i++)
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await tcp.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(LoopbackTls.HangGuard);
            await using var tls = new SslStream(new NetworkStream(tcp, ownsSocket: true));
            await tls.AuthenticateAsClientAsync(options).WaitAsync(LoopbackTls.HangGuard);
            await tls.WriteAsync("hbone\n"u8.ToArray());
            (await OpenSslPeerFiles.ReadLineAsync(tls)).ShouldBe("enobh");
        }
        await server.WaitForExitAsync();

        // No pre_shared_key extension (41) offered: every handshake presents and verifies certificates in
        // full, so the identity checks always run against the server's current certificate.
        server.Output.ShouldNotContain("(id=41)");
        server.Output.Split("Verification: OK").Length.ShouldBe(3);
    }

    [Fact]
    public async Task OurClient_OpenSslServerWithOtherIdentity_ClientSaysUnexpectedIdentity()
    {
        using WorkloadCertificate serverCert = _pki.Issue("impostor");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        OpenSslPeerFiles.WritePem(_dir, _pki, "server", serverCert);
        using OpenSslProcess server = OpenSslProcess.Start(_dir.Path,
            "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_3", "-alpn", "h2",
            "-cert", "server.crt", "-key", "server.key", "-CAfile", "root.pem", "-Verify", "1", "-rev");
        int port = await server.AcceptPortAsync();

        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await tcp.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(LoopbackTls.HangGuard);
        using var tls = new SslStream(new NetworkStream(tcp, ownsSocket: false));
        var error = await Should.ThrowAsync<TlsPeerRejectedException>(
            tls.AuthenticateAsClientAsync(HboneTls.ClientOptions(clientCert, _pki.Bundle, TestPki.Id("backend"))).WaitAsync(LoopbackTls.HangGuard));

        error.Message.ShouldBe("server identity spiffe://cluster.local/ns/default/sa/impostor is not the expected spiffe://cluster.local/ns/default/sa/backend");
        tcp.Close();
        await server.WaitForExitAsync(); // s_server saw the connection end and exited (-naccept 1): nothing hangs
    }

    [Fact]
    public async Task OpenSslClient_WithCertificate_GetsTls13AndH2AndOurServerSeesItsIdentity()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        OpenSslPeerFiles.WritePem(_dir, _pki, "client", clientCert);
        using var listener = OpenSslPeerFiles.Listen();
        using OpenSslProcess client = OpenSslProcess.Start(_dir.Path,
            "s_client", "-connect", listener.LocalEndPoint!.ToString()!, "-alpn", "h2",
            "-cert", "client.crt", "-key", "client.key", "-CAfile", "root.pem", "-verify_return_error");

        await using SslStream tls = await AcceptTlsAsync(listener, HboneTls.ServerOptions(serverCert, _pki.Bundle));
        HboneTls.GetPeerIdentity(tls).ShouldBe(clientCert.Identity);
        await client.Input.WriteLineAsync("ping");
        await client.Input.FlushAsync();
        (await OpenSslPeerFiles.ReadLineAsync(tls)).ShouldBe("ping");
        client.Input.Close();
        await client.WaitForExitAsync();

        client.Output.ShouldContain("New, TLSv1.3, Cipher is TLS_AES_");
        client.Output.ShouldContain("ALPN protocol: h2");
        client.Output.ShouldContain("Verify return code: 0 (ok)"); // openssl verified our server leaf against the root
    }

    [Fact]
    public async Task OpenSslClient_WithoutCertificate_OurServerSaysNoClientCertificate()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        _dir.Write("root.pem", _pki.Bundle.ToPem());
        using var listener = OpenSslPeerFiles.Listen();
        using OpenSslProcess client = OpenSslProcess.Start(_dir.Path,
            "s_client", "-connect", listener.LocalEndPoint!.ToString()!, "-alpn", "h2", "-CAfile", "root.pem");

        var error = await Should.ThrowAsync<TlsPeerRejectedException>(AcceptTlsAsync(listener, HboneTls.ServerOptions(serverCert, _pki.Bundle)));
        error.Message.ShouldBe("the client presented no certificate (HBONE requires mutual TLS)");

        // s_client learns of the rejection when our server closes (TLS 1.3: it had already sent its Finished)
        // and ends on its own instead of hanging; it may have exited before we close its stdin.
        client.CloseInput();
        await client.WaitForExitAsync();
    }

    [Theory]
    [InlineData("-tls1_2")]
    [InlineData("-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")]
    public async Task OpenSslClient_Tls12OrNonAesGcmSuite_IsRefusedByOurServer(params string[] clientArgs)
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        OpenSslPeerFiles.WritePem(_dir, _pki, "client", clientCert);
        using var listener = OpenSslPeerFiles.Listen();
        using OpenSslProcess client = OpenSslProcess.Start(_dir.Path,
            ["s_client", "-connect", listener.LocalEndPoint!.ToString()!, "-alpn", "h2", "-cert", "client.crt", "-key", "client.key", "-CAfile", "root.pem", .. clientArgs]);

        var error = await Should.ThrowAsync<AuthenticationException>(AcceptTlsAsync(listener, HboneTls.ServerOptions(serverCert, _pki.Bundle)));
        client.CloseInput();
        int exit = await client.WaitForExitAsync();

        error.ShouldNotBeOfType<TlsPeerRejectedException>(); // refused at negotiation, before any certificate
        exit.ShouldNotBe(0);
        client.Output.ShouldContain("alert");
    }

    // Accepts one connection and authenticates it; on failure the socket is closed before rethrowing.
    private static async Task<SslStream> AcceptTlsAsync(Socket listener, SslServerAuthenticationOptions options)
    {
        Socket socket = await listener.AcceptAsync().WaitAsync(LoopbackTls.HangGuard);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await tls.AuthenticateAsServerAsync(options).WaitAsync(LoopbackTls.HangGuard);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }
}
