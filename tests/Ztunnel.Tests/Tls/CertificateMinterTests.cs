using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Tls;

public sealed class CertificateMinterTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public void SignCsr_RoundTrip_CertHasExactlyTheOneUriSanAndChainsToRoot()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        SpiffeId alice = TestPki.Id("alice", ns: "shop");

        byte[] csr = CertificateMinter.CreateCsr(key, alice);
        using X509Certificate2 cert = CertificateMinter.SignCsr(_pki.Root, csr, _pki.Now, _pki.Now.AddHours(1));

        SpiffeCertificate.GetUris(cert).ShouldBe(["spiffe://cluster.local/ns/shop/sa/alice"]);
        SpiffeCertificate.GetIdentity(cert).ShouldBe(alice);
        cert.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfo().ShouldBe(key.ExportSubjectPublicKeyInfo());
        cert.Issuer.ShouldBe(_pki.Root.Subject);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_pki.Root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.Build(cert).ShouldBeTrue(string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }

    [Fact]
    public void SignCsr_Leaf_HasHboneProfile()
    {
        using WorkloadCertificate leaf = _pki.Issue("alice");

        leaf.Certificate.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages.ShouldBe(X509KeyUsageFlags.DigitalSignature);
        leaf.Certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages
            .Cast<Oid>().Select(o => o.Value).ShouldBe(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], ignoreOrder: true);
        leaf.Certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority.ShouldBeFalse();
        leaf.Certificate.GetECDsaPublicKey()!.KeySize.ShouldBe(256);
        leaf.Identity.ShouldBe(TestPki.Id("alice"));
    }

    [Fact]
    public void SignCsr_TwoUriSans_IsRejected()
    {
        byte[] csr = Csr("spiffe://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/c/sa/d");

        var e = Should.Throw<CertificateRequestRejectedException>(() => CertificateMinter.SignCsr(_pki.Root, csr, _pki.Now, _pki.Now.AddHours(1)));

        e.Message.ShouldBe("certificate signing request must have exactly one URI SAN (a spiffe:// ID); found 2: "
            + "spiffe://cluster.local/ns/a/sa/b, spiffe://cluster.local/ns/c/sa/d");
    }

    [Fact]
    public void SignCsr_NoSan_IsRejected()
    {
        var e = Should.Throw<CertificateRequestRejectedException>(() => CertificateMinter.SignCsr(_pki.Root, Csr(), _pki.Now, _pki.Now.AddHours(1)));

        e.Message.ShouldBe("certificate signing request must have exactly one URI SAN (a spiffe:// ID); found 0: none");
    }

    [Fact]
    public void SignCsr_UriSanNotSpiffe_IsRejected()
    {
        var e = Should.Throw<CertificateRequestRejectedException>(
            () => CertificateMinter.SignCsr(_pki.Root, Csr("https://cluster.local/ns/a/sa/b"), _pki.Now, _pki.Now.AddHours(1)));

        e.Message.ShouldStartWith("certificate signing request URI SAN is not a valid SPIFFE ID: SPIFFE ID 'https://cluster.local/ns/a/sa/b' does not start with 'spiffe://'");
    }

    [Fact]
    public void SignCsr_ExtraDnsSan_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("spiffe://cluster.local/ns/a/sa/b"));
        san.AddDnsName("evil.example.com");
        request.CertificateExtensions.Add(san.Build(critical: true));

        var e = Should.Throw<CertificateRequestRejectedException>(
            () => CertificateMinter.SignCsr(_pki.Root, request.CreateSigningRequest(), _pki.Now, _pki.Now.AddHours(1)));

        e.Message.ShouldBe("certificate signing request has 1 non-URI subject alternative name(s); only one spiffe:// URI SAN is allowed");
    }

    [Fact]
    public void SignCsr_TamperedIdentity_FailsSignatureCheck()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = CertificateMinter.CreateCsr(key, TestPki.Id("alice"));
        // Rewrite the requested identity after signing: sa/alice -> sa/mallo (same length, valid DER).
        int at = csr.AsSpan().IndexOf("sa/alice"u8);
        at.ShouldBeGreaterThan(0);
        "sa/mallo"u8.CopyTo(csr.AsSpan(at));

        var e = Should.Throw<CertificateRequestRejectedException>(() => CertificateMinter.SignCsr(_pki.Root, csr, _pki.Now, _pki.Now.AddHours(1)));

        e.Message.ShouldStartWith("certificate signing request is invalid (malformed DER or bad signature)");
    }

    [Fact]
    public void SignCsr_P384Key_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        byte[] csr = CertificateMinter.CreateCsr(key, TestPki.Id("alice"));

        var e = Should.Throw<CertificateRequestRejectedException>(() => CertificateMinter.SignCsr(_pki.Root, csr, _pki.Now, _pki.Now.AddHours(1)));

        e.Message.ShouldBe("certificate signing request has an EC key on curve 1.3.132.0.34; only ECDSA P-256 keys are issued");
    }

    [Fact]
    public void SignCsr_IssuerWithoutPrivateKey_IsRejected()
    {
        using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(_pki.Root.RawData);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Should.Throw<ArgumentException>(() => CertificateMinter.SignCsr(publicOnly, CertificateMinter.CreateCsr(key, TestPki.Id("a")), _pki.Now, _pki.Now.AddHours(1)))
            .Message.ShouldContain("has no private key");
    }

    [Fact]
    public async Task Openssl_ParsesRootLeafAndCsr_WithExpectedExtensions()
    {
        using var dir = new TempDirectory();
        using WorkloadCertificate leaf = _pki.Issue(TestPki.Id("alice", ns: "shop"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        dir.Write("root.pem", _pki.Root.ExportCertificatePem());
        dir.Write("leaf.pem", leaf.CertificateChainPem());
        dir.Write("csr.pem", PemEncoding.WriteString("CERTIFICATE REQUEST", CertificateMinter.CreateCsr(key, TestPki.Id("bob"))));

        string root = await OpenSslAsync(dir, "x509", "-in", "root.pem", "-noout", "-text");
        root.ShouldContain("CA:TRUE");
        root.ShouldContain("Certificate Sign");
        root.ShouldContain("NIST CURVE: P-256");
        root.ShouldContain("ecdsa-with-SHA256");

        string text = await OpenSslAsync(dir, "x509", "-in", "leaf.pem", "-noout", "-text");
        text.ShouldContain("CA:FALSE");
        text.ShouldContain("Digital Signature");
        text.ShouldContain("TLS Web Server Authentication, TLS Web Client Authentication");
        text.ShouldContain("X509v3 Subject Alternative Name: critical");
        text.ShouldContain("URI:spiffe://cluster.local/ns/shop/sa/alice");
        text.ShouldContain("NIST CURVE: P-256");
        (await OpenSslAsync(dir, "verify", "-CAfile", "root.pem", "-purpose", "sslclient", "leaf.pem")).ShouldContain("leaf.pem: OK");
        (await OpenSslAsync(dir, "verify", "-CAfile", "root.pem", "-purpose", "sslserver", "leaf.pem")).ShouldContain("leaf.pem: OK");

        string csr = await OpenSslAsync(dir, "req", "-in", "csr.pem", "-noout", "-verify", "-text");
        csr.ShouldContain("verify OK", Case.Insensitive);
        csr.ShouldContain("URI:spiffe://cluster.local/ns/default/sa/bob");
    }

    private static async Task<string> OpenSslAsync(TempDirectory dir, params string[] args)
    {
        using OpenSslProcess openssl = OpenSslProcess.Start(dir.Path, args);
        openssl.CloseInput();
        int exit = await openssl.WaitForExitAsync();
        exit.ShouldBe(0, openssl.Output);
        return openssl.Output;
    }

    private static byte[] Csr(params string[] uris)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("", key, HashAlgorithmName.SHA256);
        if (uris.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (string uri in uris)
            {
                san.AddUri(new Uri(uri));
            }
            request.CertificateExtensions.Add(san.Build(critical: true));
        }
        return request.CreateSigningRequest();
    }
}
