using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Tls;

public sealed class HboneTlsTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Handshake_MutualTls_BothSeePeerIdentityOverTls13H2AesGcm()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        SslClientAuthenticationOptions clientOptions = HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity);
        SslServerAuthenticationOptions serverOptions = HboneTls.ServerOptions(serverCert, _pki.Bundle);

        // The same options objects serve every connection.
        for (int i = 0; i < 2; i++)
        {
            using var outcome = await LoopbackTls.RunAsync(clientOptions, serverOptions);

            outcome.Client.Error.ShouldBeNull();
            outcome.Server.Error.ShouldBeNull();
            outcome.Client.Exchanged.ShouldBeTrue();
            outcome.Server.Exchanged.ShouldBeTrue();
            HboneTls.GetPeerIdentity(outcome.ClientStream).ShouldBe(serverCert.Identity);
            HboneTls.GetPeerIdentity(outcome.ServerStream).ShouldBe(clientCert.Identity);
            foreach (SslStream s in new[] { outcome.ClientStream, outcome.ServerStream })
            {
                s.SslProtocol.ShouldBe(SslProtocols.Tls13);
                s.NegotiatedApplicationProtocol.ShouldBe(SslApplicationProtocol.Http2);
                s.NegotiatedCipherSuite.ShouldBeOneOf(TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384);
            }
        }
    }

    [Fact]
    public async Task Handshake_IntermediateCa_ChainIsSentAndVerified()
    {
        using X509Certificate2 intermediate = CertificateMinter.CreateIntermediate(_pki.Root, TestPki.TrustDomain, _pki.Now.AddDays(-1), _pki.Now.AddDays(30));
        using WorkloadCertificate clientCert = CertificateMinter.IssueWorkload(intermediate, TestPki.Id("client"), _pki.Now.AddMinutes(-5), _pki.Now.AddHours(1));
        using WorkloadCertificate serverCert = CertificateMinter.IssueWorkload(intermediate, TestPki.Id("server"), _pki.Now.AddMinutes(-5), _pki.Now.AddHours(1));
        clientCert.Chain.Count.ShouldBe(1);

        using var outcome = await LoopbackTls.RunAsync(
            HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity),
            HboneTls.ServerOptions(serverCert, _pki.Bundle));

        outcome.Client.Exchanged.ShouldBeTrue();
        outcome.Server.Exchanged.ShouldBeTrue();
        HboneTls.GetPeerIdentity(outcome.ServerStream).ShouldBe(clientCert.Identity);
    }

    [Fact]
    public async Task Handshake_ClientWithoutCertificate_ServerSaysNoClientCertificate()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        SslClientAuthenticationOptions clientOptions = HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity);
        clientOptions.ClientCertificateContext = null;
        var log = new ListLogger();

        string reason = await ServerRejectsAsync(clientOptions, HboneTls.ServerOptions(serverCert, _pki.Bundle, log));

        reason.ShouldBe("the client presented no certificate (HBONE requires mutual TLS)");
        log.Lines.ShouldBe(["Warning: rejected HBONE TLS peer: the client presented no certificate (HBONE requires mutual TLS)"]);
    }

    [Fact]
    public async Task Handshake_ClientFromOtherTrustDomain_ServerSaysWrongTrustDomain()
    {
        using WorkloadCertificate clientCert = _pki.Issue(TestPki.Id("client", td: "other.example"));
        using WorkloadCertificate serverCert = _pki.Issue("server");

        string reason = await ServerRejectsAsync(
            HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity), HboneTls.ServerOptions(serverCert, _pki.Bundle));

        reason.ShouldBe("client identity spiffe://other.example/ns/default/sa/client is in trust domain 'other.example', not ours 'cluster.local'");
    }

    [Fact]
    public async Task Handshake_UnexpectedServerIdentity_ClientSaysWhichIdentities()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("x");

        string reason = await ClientRejectsAsync(
            HboneTls.ClientOptions(clientCert, _pki.Bundle, TestPki.Id("y")), HboneTls.ServerOptions(serverCert, _pki.Bundle));

        reason.ShouldBe("server identity spiffe://cluster.local/ns/default/sa/x is not the expected spiffe://cluster.local/ns/default/sa/y");
    }

    [Fact]
    public async Task Handshake_ExpiredServerCertificate_ClientSaysExpired()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.IssueExpired("server");

        string reason = await ClientRejectsAsync(
            HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity), HboneTls.ServerOptions(serverCert, _pki.Bundle));

        reason.ShouldStartWith("the server certificate (spiffe://cluster.local/ns/default/sa/server");
        reason.ShouldContain($"expired at {serverCert.NotAfter.UtcDateTime:u}");
    }

    [Fact]
    public async Task Handshake_ExpiredClientCertificate_ServerSaysExpired()
    {
        using WorkloadCertificate clientCert = _pki.IssueExpired("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");

        string reason = await ServerRejectsAsync(
            HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity), HboneTls.ServerOptions(serverCert, _pki.Bundle));

        reason.ShouldStartWith("the client certificate (spiffe://cluster.local/ns/default/sa/client");
        reason.ShouldContain("expired at");
    }

    [Fact]
    public async Task Handshake_NotYetValidClientCertificate_ServerSaysNotYetValid()
    {
        using WorkloadCertificate clientCert = _pki.IssueNotYetValid("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");

        string reason = await ServerRejectsAsync(
            HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity), HboneTls.ServerOptions(serverCert, _pki.Bundle));

        reason.ShouldContain($"is not yet valid (valid from {clientCert.NotBefore.UtcDateTime:u})");
    }

    [Fact]
    public async Task Handshake_ServerFromOtherRoot_ClientSaysNotTrusted()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.IssueFromOtherRoot("server");

        string reason = await ClientRejectsAsync(
            HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity), HboneTls.ServerOptions(serverCert, _pki.Bundle));

        reason.ShouldStartWith("the server certificate (spiffe://cluster.local/ns/default/sa/server");
        reason.ShouldContain("is not trusted: it does not chain to the trust bundle");
    }

    [Fact]
    public async Task Handshake_ClientFromOtherRoot_ServerSaysNotTrusted()
    {
        using WorkloadCertificate clientCert = _pki.IssueFromOtherRoot("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");

        string reason = await ServerRejectsAsync(
            HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity), HboneTls.ServerOptions(serverCert, _pki.Bundle));

        reason.ShouldContain("is not trusted: it does not chain to the trust bundle");
    }

    [Theory]
    [InlineData(new string[0], "has no subject alternative name extension")]
    [InlineData(new[] { "https://example.com/x" }, "has no spiffe:// URI SAN")]
    [InlineData(new[] { "spiffe://cluster.local/workload" }, "has a malformed SPIFFE URI SAN")]
    public async Task Handshake_ServerLeafWithoutSpiffeId_ClientSaysNoSpiffeId(string[] uris, string expected)
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using X509Certificate2 bareLeaf = _pki.IssueRawLeaf(uris);
        SslServerAuthenticationOptions serverOptions = HboneTls.ServerOptions(serverCert, _pki.Bundle);
        serverOptions.ServerCertificateContext = SslStreamCertificateContext.Create(bareLeaf, null, offline: true);

        string reason = await ClientRejectsAsync(HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity), serverOptions);

        reason.ShouldStartWith("the server certificate (");
        reason.ShouldContain(expected);
    }

    [Fact]
    public async Task Handshake_ClientLeafWithoutSpiffeId_ServerSaysNoSpiffeId()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using X509Certificate2 bareLeaf = _pki.IssueRawLeaf();
        SslClientAuthenticationOptions clientOptions = HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity);
        clientOptions.ClientCertificateContext = SslStreamCertificateContext.Create(bareLeaf, null, offline: true);

        string reason = await ServerRejectsAsync(clientOptions, HboneTls.ServerOptions(serverCert, _pki.Bundle));

        reason.ShouldBe("the client certificate (subject 'CN=ztunnel-test-leaf', issuer 'O=cluster.local, CN=Ztunnel root CA', "
            + $"serial {bareLeaf.SerialNumber}) has no subject alternative name extension (a SPIFFE URI SAN is required)");
    }

    // The server refuses: its handshake throws the reason; the client's connection fails too (in TLS 1.3 the
    // client finishes first and learns of the rejection when the server closes), and nothing hangs.
    private static async Task<string> ServerRejectsAsync(SslClientAuthenticationOptions clientOptions, SslServerAuthenticationOptions serverOptions)
    {
        using var outcome = await LoopbackTls.RunAsync(clientOptions, serverOptions);
        outcome.Server.Authenticated.ShouldBeFalse();
        outcome.Client.Failed.ShouldBeTrue();
        outcome.Client.Exchanged.ShouldBeFalse();
        return Reason(outcome.Server.Error);
    }

    private static async Task<string> ClientRejectsAsync(SslClientAuthenticationOptions clientOptions, SslServerAuthenticationOptions serverOptions)
    {
        using var outcome = await LoopbackTls.RunAsync(clientOptions, serverOptions);
        outcome.Client.Authenticated.ShouldBeFalse();
        outcome.Server.Failed.ShouldBeTrue();
        outcome.Server.Exchanged.ShouldBeFalse();
        return Reason(outcome.Client.Error);
    }

    private static string Reason(Exception? error)
    {
        // The failing side sees an AuthenticationException whose message is the reason.
        AuthenticationException e = error.ShouldBeOfType<TlsPeerRejectedException>();
        HboneTls.DescribeFailure(e).ShouldBe(e.Message);
        return e.Message;
    }
}
