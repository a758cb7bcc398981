using System.Net.Security;
using System.Security.Authentication;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>
/// Our native transport refuses exactly the peers SslStream with HboneTls's options refused, with the same
/// exception type and reason (HboneTlsTests asserts the SslStream side); the other side fails without hanging.
/// </summary>
public sealed class NativeTlsRejectionTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Server_SslStreamClientWithoutCertificate_SaysNoClientCertificateAndLogsIt()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        SslClientAuthenticationOptions clientOptions = HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity);
        clientOptions.ClientCertificateContext = null;
        var log = new ListLogger();
        using var server = NativeTlsContext.ForServer(serverCert, _pki.Bundle, log);

        var (client, accepted) = await NativeTlsPair.ConnectFromSslStreamAsync(clientOptions, server);

        Reason(accepted).ShouldBe("the client presented no certificate (HBONE requires mutual TLS)");
        log.Lines.ShouldBe(["Warning: rejected HBONE TLS peer: the client presented no certificate (HBONE requires mutual TLS)"]);
        await PeerConnectionFailsAsync(client);
    }

    [Fact]
    public async Task Server_ClientFromOtherTrustDomain_SaysWrongTrustDomain()
    {
        using WorkloadCertificate clientCert = _pki.Issue(TestPki.Id("client", td: "other.example"));
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using var client = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        using var server = NativeTlsContext.ForServer(serverCert, _pki.Bundle);

        string reason = await ServerRejectsAsync(client, serverCert.Identity, server);

        reason.ShouldBe("client identity spiffe://other.example/ns/default/sa/client is in trust domain 'other.example', not ours 'cluster.local'");
    }

    [Fact]
    public async Task Server_ClientFromOtherRoot_SaysNotTrusted()
    {
        using WorkloadCertificate clientCert = _pki.IssueFromOtherRoot("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using var client = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        using var server = NativeTlsContext.ForServer(serverCert, _pki.Bundle);

        string reason = await ServerRejectsAsync(client, serverCert.Identity, server);

        reason.ShouldStartWith("the client certificate (spiffe://cluster.local/ns/default/sa/client");
        reason.ShouldContain("is not trusted: it does not chain to the trust bundle");
    }

    [Fact]
    public async Task Server_ExpiredClientCertificate_SaysExpired()
    {
        using WorkloadCertificate clientCert = _pki.IssueExpired("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using var client = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        using var server = NativeTlsContext.ForServer(serverCert, _pki.Bundle);

        string reason = await ServerRejectsAsync(client, serverCert.Identity, server);

        reason.ShouldStartWith("the client certificate (spiffe://cluster.local/ns/default/sa/client");
        reason.ShouldContain($"expired at {clientCert.NotAfter.UtcDateTime:u}");
    }

    [Fact]
    public async Task Server_ClientLeafWithoutSpiffeId_SaysNoSpiffeId()
    {
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using System.Security.Cryptography.X509Certificates.X509Certificate2 bareLeaf = _pki.IssueRawLeaf();
        SslClientAuthenticationOptions clientOptions = HboneTls.ClientOptions(_pki.Issue("client"), _pki.Bundle, serverCert.Identity);
        clientOptions.ClientCertificateContext = SslStreamCertificateContext.Create(bareLeaf, null, offline: true);
        using var server = NativeTlsContext.ForServer(serverCert, _pki.Bundle);

        var (client, accepted) = await NativeTlsPair.ConnectFromSslStreamAsync(clientOptions, server);

        Reason(accepted).ShouldBe("the client certificate (subject 'CN=ztunnel-test-leaf', issuer 'O=cluster.local, CN=Ztunnel root CA', "
            + $"serial {bareLeaf.SerialNumber}) has no subject alternative name extension (a SPIFFE URI SAN is required)");
        await PeerConnectionFailsAsync(client);
    }

    [Fact]
    public async Task Client_UnexpectedServerIdentity_SaysWhichIdentities()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("x");
        using var client = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        using var server = NativeTlsContext.ForServer(serverCert, _pki.Bundle);

        string reason = await ClientRejectsAsync(client, TestPki.Id("y"), server);

        reason.ShouldBe("server identity spiffe://cluster.local/ns/default/sa/x is not the expected spiffe://cluster.local/ns/default/sa/y");
    }

    [Fact]
    public async Task Client_ServerFromOtherRoot_SaysNotTrusted()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.IssueFromOtherRoot("server");
        using var client = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        // The server trusts the other root, so only our client refuses.
        using var server = NativeTlsContext.ForServer(serverCert, _pki.Bundle);

        string reason = await ClientRejectsAsync(client, serverCert.Identity, server);

        reason.ShouldStartWith("the server certificate (spiffe://cluster.local/ns/default/sa/server");
        reason.ShouldContain("is not trusted: it does not chain to the trust bundle");
    }

    [Fact]
    public async Task Client_ExpiredServerCertificate_SaysExpired()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.IssueExpired("server");
        using var client = NativeTlsContext.ForClient(clientCert, _pki.Bundle);

        var (connected, server) = await NativeTlsPair.ConnectToSslStreamAsync(client, serverCert.Identity, HboneTls.ServerOptions(serverCert, _pki.Bundle));

        string reason = Reason(connected);
        reason.ShouldStartWith("the server certificate (spiffe://cluster.local/ns/default/sa/server");
        reason.ShouldContain($"expired at {serverCert.NotAfter.UtcDateTime:u}");
        await PeerConnectionFailsAsync(server);
    }

    [Theory]
    [InlineData(new string[0], "has no subject alternative name extension")]
    [InlineData(new[] { "https://example.com/x" }, "has no spiffe:// URI SAN")]
    public async Task Client_ServerLeafWithoutSpiffeId_SaysNoSpiffeId(string[] uris, string expected)
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using System.Security.Cryptography.X509Certificates.X509Certificate2 bareLeaf = _pki.IssueRawLeaf(uris);
        SslServerAuthenticationOptions serverOptions = HboneTls.ServerOptions(serverCert, _pki.Bundle);
        serverOptions.ServerCertificateContext = SslStreamCertificateContext.Create(bareLeaf, null, offline: true);
        using var client = NativeTlsContext.ForClient(clientCert, _pki.Bundle);

        var (connected, _) = await NativeTlsPair.ConnectToSslStreamAsync(client, serverCert.Identity, serverOptions);

        string reason = Reason(connected);
        reason.ShouldStartWith("the server certificate (");
        reason.ShouldContain(expected);
    }

    // Our server refuses: its accept throws the reason. In TLS 1.3 the client finishes first; its first read
    // then fails with the server's bad_certificate alert, so the client's side can say why, and nothing hangs.
    private static async Task<string> ServerRejectsAsync(NativeTlsContext client, SpiffeId expectedServer, NativeTlsContext server)
    {
        (System.Net.Sockets.Socket clientSocket, System.Net.Sockets.Socket serverSocket) = await LoopbackTls.ConnectAsync();
        Task<NativeTlsStream> connected = client.ConnectAsync(clientSocket, expectedServer);
        Task<NativeTlsStream> accepted = server.AcceptAsync(serverSocket);
        string reason = Reason(await Should.ThrowAsync<TlsPeerRejectedException>(accepted.WaitAsync(LoopbackTls.HangGuard)));
        await using NativeTlsStream stream = await connected.WaitAsync(LoopbackTls.HangGuard);
        var error = await Should.ThrowAsync<IOException>(stream.ReadAsync(new byte[1]).AsTask().WaitAsync(LoopbackTls.HangGuard));
        error.Message.ShouldContain("alert bad certificate");
        return reason;
    }

    // Our client refuses the server's certificate before it sends its own Finished: the server's handshake fails
    // with the client's bad_certificate alert instead of completing and then finding the connection closed.
    private static async Task<string> ClientRejectsAsync(NativeTlsContext client, SpiffeId expectedServer, NativeTlsContext server)
    {
        (System.Net.Sockets.Socket clientSocket, System.Net.Sockets.Socket serverSocket) = await LoopbackTls.ConnectAsync();
        Task<NativeTlsStream> connected = client.ConnectAsync(clientSocket, expectedServer);
        Task<NativeTlsStream> accepted = server.AcceptAsync(serverSocket);
        string reason = Reason(await Should.ThrowAsync<TlsPeerRejectedException>(connected.WaitAsync(LoopbackTls.HangGuard)));
        var serverError = await Should.ThrowAsync<TlsNegotiationException>(accepted.WaitAsync(LoopbackTls.HangGuard));
        serverError.Message.ShouldContain("alert bad certificate");
        return reason;
    }

    /// <summary>The other side either failed its handshake or sees its connection end on the first read.</summary>
    private static async Task PeerConnectionFailsAsync<T>(Task<T> connect) where T : Stream
    {
        try
        {
            await using T stream = await connect.WaitAsync(LoopbackTls.HangGuard);
            await stream.WriteAsync(new byte[] { 42 });
            await stream.FlushAsync();
            (await stream.ReadAsync(new byte[1]).AsTask().WaitAsync(LoopbackTls.HangGuard)).ShouldBe(0);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
        }
    }

    private static string Reason<T>(Task<T> failed) => Reason(failed.Exception?.InnerException);

    private static string Reason(Exception? error)
    {
        TlsPeerRejectedException e = error.ShouldBeOfType<TlsPeerRejectedException>();
        HboneTls.DescribeFailure(e).ShouldBe(e.Message);
        return e.Message;
    }
}
