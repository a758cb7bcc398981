using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>Our native transport against openssl s_server / s_client as the independent peer.</summary>
public sealed class NativeTlsOpenSslInteropTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _pki.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task OurClient_OpenSslServerRequiringClientCert_ConnectsWithH2NoSniNoResumption()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using OpenSslProcess server = StartOpenSslServer(serverCert,
            "-naccept", "2", "-tls1_3", "-alpn", "h2", "-CAfile", "root.pem", "-Verify", "1", "-verify_return_error", "-tlsextdebug", "-rev");
        int port = await server.AcceptPortAsync();
        using var context = NativeTlsContext.ForClient(clientCert, _pki.Bundle);

        for (int i = 0; i < 2; i++)
        {
            await using NativeTlsStream tls = await context.ConnectAsync(await ConnectAsync(port), serverCert.Identity).WaitAsync(LoopbackTls.HangGuard);
            await tls.WriteAsync("hbone\n"u8.ToArray());
            await tls.FlushAsync();
            (await OpenSslPeerFiles.ReadLineAsync(tls)).ShouldBe("enobh"); // s_server -rev answered, so it accepted our client certificate
            tls.PeerIdentity.ShouldBe(serverCert.Identity);
            tls.NegotiatedApplicationProtocol.ShouldBe(System.Net.Security.SslApplicationProtocol.Http2);
            await tls.ShutdownAsync();
        }
        await server.WaitForExitAsync();

        server.Output.ShouldContain("Protocol version: TLSv1.3");
        server.Output.Split("Verification: OK").Length.ShouldBe(3); // openssl verified our client leaf, twice
        server.Output.ShouldNotContain("server name"); // -tlsextdebug lists every ClientHello extension: no SNI
        server.Output.ShouldNotContain("(id=41)"); // no pre_shared_key: never resumed, identity checked every time
        server.Output.ShouldContain("application layer protocol negotiation");
    }

    [Fact]
    public async Task OurClient_OpenSslServerWithOtherIdentity_SaysUnexpectedIdentity()
    {
        using WorkloadCertificate serverCert = _pki.Issue("impostor");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using OpenSslProcess server = StartOpenSslServer(serverCert,
            "-naccept", "1", "-tls1_3", "-alpn", "h2", "-CAfile", "root.pem", "-Verify", "1", "-rev");
        int port = await server.AcceptPortAsync();
        using var context = NativeTlsContext.ForClient(clientCert, _pki.Bundle);

        var error = await Should.ThrowAsync<TlsPeerRejectedException>(
            context.ConnectAsync(await ConnectAsync(port), TestPki.Id("backend")).WaitAsync(LoopbackTls.HangGuard));

        error.Message.ShouldBe("server identity spiffe://cluster.local/ns/default/sa/impostor is not the expected spiffe://cluster.local/ns/default/sa/backend");
        await server.WaitForExitAsync(); // s_server saw the handshake fail and exited (-naccept 1): nothing hangs
        server.Output.ShouldContain("alert bad certificate"); // our refusal reached it as a TLS alert, not a bare close
    }

    [Theory]
    [InlineData("-tls1_2")]
    [InlineData("-alpn", "http/1.1")]
    public async Task OurClient_OpenSslServerTls12OrWithoutH2_HandshakeFails(params string[] serverArgs)
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using OpenSslProcess server = StartOpenSslServer(serverCert, ["-naccept", "1", "-rev", .. serverArgs]);
        int port = await server.AcceptPortAsync();
        using var context = NativeTlsContext.ForClient(clientCert, _pki.Bundle);

        // Refused at negotiation, before any certificate check.
        var error = await Should.ThrowAsync<TlsNegotiationException>(
            context.ConnectAsync(await ConnectAsync(port), serverCert.Identity).WaitAsync(LoopbackTls.HangGuard));

        HboneTls.DescribeFailure(error).ShouldBe(error.Message);
        error.Message.ShouldStartWith("HBONE TLS handshake failed: ");
        error.Message.ShouldContain(serverArgs[0] == "-tls1_2" ? "protocol version" : "no application protocol");
        await server.WaitForExitAsync();
    }

    [Fact]
    public async Task OurClient_OpenSslServerIgnoringAlpn_IsToldNoApplicationProtocol()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        // No -alpn: s_server selects nothing and finishes its handshake; the refusal is the client's, after it. (Not
        // -rev: that mode reports a failed read as a plain "CONNECTION CLOSED".)
        using OpenSslProcess server = StartOpenSslServer(serverCert, "-naccept", "1", "-tls1_3");
        int port = await server.AcceptPortAsync();
        using var context = NativeTlsContext.ForClient(clientCert, _pki.Bundle);

        var error = await Should.ThrowAsync<TlsNegotiationException>(
            context.ConnectAsync(await ConnectAsync(port), serverCert.Identity).WaitAsync(LoopbackTls.HangGuard));
        error.Message.ShouldBe("HBONE TLS handshake failed: the server selected no ALPN protocol (HBONE requires h2)");

        // s_server reads why (our record layer's fatal alert) instead of a bare close, and ends.
        await server.WaitForExitAsync();
        server.Output.ShouldContain("alert no application protocol");
    }

    [Fact]
    public async Task OpenSslClient_WithCertificate_GetsTls13AndH2AndOurServerSeesItsIdentity()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using OpenSslClientSession session = StartOpenSslClient(serverCert, clientCert, "-alpn", "h2", "-verify_return_error");
        OpenSslProcess client = session.Client;

        await using NativeTlsStream tls = await session.AcceptAsync();
        tls.PeerIdentity.ShouldBe(clientCert.Identity);
        await client.Input.WriteLineAsync("ping");
        await client.Input.FlushAsync();
        (await OpenSslPeerFiles.ReadLineAsync(tls)).ShouldBe("ping");
        await tls.WriteAsync("pong\n"u8.ToArray());
        await tls.FlushAsync();
        await tls.ShutdownAsync(); // close_notify: s_client ends on its own
        await client.WaitForExitAsync();

        client.Output.ShouldContain("New, TLSv1.3, Cipher is TLS_AES_");
        client.Output.ShouldContain("ALPN protocol: h2");
        client.Output.ShouldContain("Verify return code: 0 (ok)"); // openssl verified our server leaf against the root
        client.Output.ShouldContain("pong");
    }

    [Fact]
    public async Task OpenSslClient_KeyUpdateRequested_ConnectionGoesOnBothWays()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using OpenSslClientSession session = StartOpenSslClient(serverCert, clientCert, "-alpn", "h2");
        OpenSslProcess client = session.Client;
        await using NativeTlsStream tls = await session.AcceptAsync();

        // s_client's "K" command: a KeyUpdate that requests ours in return (RFC 8446 §4.6.3). Our answer goes
        // out with our next write; both directions keep working on the new keys.
        await client.Input.WriteLineAsync("K");
        await client.Input.FlushAsync();
        await client.WaitForLineAsync("KEYUPDATE"); // s_client takes one stdin read per command: "ping" after it
        await client.Input.WriteLineAsync("ping");
        await client.Input.FlushAsync();
        (await OpenSslPeerFiles.ReadLineAsync(tls)).ShouldBe("ping");
        await tls.WriteAsync("pong\n"u8.ToArray());
        await tls.FlushAsync();
        await client.Input.WriteLineAsync("again");
        await client.Input.FlushAsync();
        (await OpenSslPeerFiles.ReadLineAsync(tls)).ShouldBe("again");
        await tls.ShutdownAsync();
        await client.WaitForExitAsync();

        client.Output.ShouldContain("KEYUPDATE");
        client.Output.ShouldContain("pong");
    }

    [Fact]
    public async Task OpenSslClient_WithoutCertificate_OurServerSaysNoClientCertificate()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        _dir.Write("root.pem", _pki.Bundle.ToPem());
        using var listener = OpenSslPeerFiles.Listen();
        using var context = NativeTlsContext.ForServer(serverCert, _pki.Bundle);
        using OpenSslProcess client = OpenSslProcess.Start(_dir.Path,
            "s_client", "-connect", listener.LocalEndPoint!.ToString()!, "-alpn", "h2", "-CAfile", "root.pem");

        var error = await Should.ThrowAsync<TlsPeerRejectedException>(AcceptAsync(listener, context));
        error.Message.ShouldBe("the client presented no certificate (HBONE requires mutual TLS)");

        // s_client learns why (TLS 1.3's certificate_required alert) and ends on its own instead of hanging.
        await client.WaitForExitAsync();
        client.Output.ShouldContain("alert certificate required");
    }

    [Fact]
    public async Task OpenSslClient_WithCertificateFromOtherRoot_IsToldBadCertificate()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.IssueFromOtherRoot("client");
        using OpenSslClientSession session = StartOpenSslClient(serverCert, clientCert, "-alpn", "h2");

        var error = await Should.ThrowAsync<TlsPeerRejectedException>(session.AcceptAsync());
        error.Message.ShouldContain("is not trusted: it does not chain to the trust bundle");

        await session.Client.WaitForExitAsync();
        session.Client.Output.ShouldContain("alert bad certificate");
    }

    [Theory]
    [InlineData("unsupported protocol", "alert protocol version", "-tls1_2", "-alpn", "h2")]
    [InlineData("no shared cipher", "alert handshake failure", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", "-alpn", "h2")]
    [InlineData("no application protocol", "alert no application protocol", "-alpn", "http/1.1")]
    [InlineData("the client offered no ALPN protocol (HBONE requires h2)", "alert no application protocol")]
    public async Task OpenSslClient_Tls12OrOtherSuiteOrWithoutH2_IsRefusedByOurServer(string reason, string clientReads, params string[] clientArgs)
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using OpenSslClientSession session = StartOpenSslClient(serverCert, clientCert, clientArgs);
        OpenSslProcess client = session.Client;

        // Refused at negotiation, before any certificate check.
        var error = await Should.ThrowAsync<TlsNegotiationException>(session.AcceptAsync());
        client.CloseInput();
        await client.WaitForExitAsync();

        error.Message.ShouldStartWith("HBONE TLS handshake failed: ");
        error.Message.ShouldContain(reason);
        client.Output.ShouldContain(clientReads); // the refusal reached s_client as a TLS alert
    }

    /// <summary>s_server on a free loopback port as <paramref name="serverCert"/>, with <paramref name="args"/> added.</summary>
    private OpenSslProcess StartOpenSslServer(WorkloadCertificate serverCert, params string[] args)
    {
        OpenSslPeerFiles.WritePem(_dir, _pki, "server", serverCert);
        return OpenSslProcess.Start(_dir.Path, ["s_server", "-accept", "127.0.0.1:0", "-cert", "server.crt", "-key", "server.key", .. args]);
    }

    /// <summary>Our server (a listener and a context as <paramref name="serverCert"/>) and s_client connecting to it
    /// as <paramref name="clientCert"/>, trusting our root, with <paramref name="args"/> added.</summary>
    private OpenSslClientSession StartOpenSslClient(WorkloadCertificate serverCert, WorkloadCertificate clientCert, params string[] args)
    {
        OpenSslPeerFiles.WritePem(_dir, _pki, "client", clientCert);
        Socket listener = OpenSslPeerFiles.Listen();
        var context = NativeTlsContext.ForServer(serverCert, _pki.Bundle);
        OpenSslProcess client = OpenSslProcess.Start(_dir.Path,
            ["s_client", "-connect", listener.LocalEndPoint!.ToString()!, "-cert", "client.crt", "-key", "client.key", "-CAfile", "root.pem", .. args]);
        return new OpenSslClientSession(listener, context, client);
    }

    private sealed class OpenSslClientSession(Socket listener, NativeTlsContext context, OpenSslProcess client) : IDisposable
    {
        public OpenSslProcess Client => client;

        public Task<NativeTlsStream> AcceptAsync() => NativeTlsOpenSslInteropTests.AcceptAsync(listener, context);

        public void Dispose()
        {
            client.Dispose();
            context.Dispose();
            listener.Dispose();
        }
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await tcp.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(LoopbackTls.HangGuard);
        return tcp;
    }

    private static async Task<NativeTlsStream> AcceptAsync(Socket listener, NativeTlsContext context)
    {
        Socket socket = await listener.AcceptAsync().WaitAsync(LoopbackTls.HangGuard);
        return await context.AcceptAsync(socket).WaitAsync(LoopbackTls.HangGuard);
    }
}
