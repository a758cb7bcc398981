using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Tls;

public sealed class SpiffeCertificateTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public void GetIdentity_FirstSpiffeUriAmongOthers_IsTheIdentity()
    {
        using X509Certificate2 cert = _pki.IssueRawLeaf("https://example.com/a", "spiffe://cluster.local/ns/a/sa/first", "spiffe://cluster.local/ns/b/sa/second");

        SpiffeCertificate.GetIdentity(cert).ShouldBe(TestPki.Id("first", ns: "a"));
    }

    [Fact]
    public void GetIdentity_NoSan_IsNullWithReason()
    {
        using X509Certificate2 cert = _pki.IssueRawLeaf();

        SpiffeCertificate.GetIdentity(cert).ShouldBeNull();
        SpiffeCertificate.TryGetIdentity(cert, out _, out string? error).ShouldBeFalse();
        error.ShouldBe("has no subject alternative name extension (a SPIFFE URI SAN is required)");
    }

    [Fact]
    public void GetIdentity_OnlyNonSpiffeUri_IsNull()
    {
        using X509Certificate2 cert = _pki.IssueRawLeaf("https://example.com/a");

        SpiffeCertificate.GetIdentity(cert).ShouldBeNull();
    }

    [Fact]
    public void GetIdentity_MalformedFirstSpiffeUri_IsNullWithReason()
    {
        using X509Certificate2 cert = _pki.IssueRawLeaf("spiffe://cluster.local/workload", "spiffe://cluster.local/ns/a/sa/b");

        SpiffeCertificate.TryGetIdentity(cert, out _, out string? error).ShouldBeFalse();
        error.ShouldBe("has a malformed SPIFFE URI SAN: SPIFFE ID 'spiffe://cluster.local/workload' is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>");
    }

    [Fact]
    public void TrustBundle_FromPem_ReadsEveryCertificate()
    {
        string pem = _pki.Root.ExportCertificatePem() + "\n" + _pki.OtherRoot.ExportCertificatePem();

        TrustBundle bundle = TrustBundle.FromPem(pem);

        bundle.Roots.Count.ShouldBe(2);
        TrustBundle.FromPem(bundle.ToPem()).Roots[1].Thumbprint.ShouldBe(_pki.OtherRoot.Thumbprint);
        Should.Throw<FormatException>(() => TrustBundle.FromPem("not a pem")).Message.ShouldBe("trust bundle PEM has no CERTIFICATE block");
    }

    [Fact]
    public void WorkloadCertificate_PemRoundTrip_KeepsIdentityKeyAndChain()
    {
        using X509Certificate2 intermediate = CertificateMinter.CreateIntermediate(_pki.Root, TestPki.TrustDomain, _pki.Now.AddDays(-1), _pki.Now.AddDays(1));
        using WorkloadCertificate original = CertificateMinter.IssueWorkload(intermediate, TestPki.Id("alice"), _pki.Now.AddMinutes(-1), _pki.Now.AddHours(1));

        using WorkloadCertificate loaded = WorkloadCertificate.FromPem(original.CertificateChainPem(), original.PrivateKeyPem());

        loaded.Identity.ShouldBe(TestPki.Id("alice"));
        loaded.Chain.Count.ShouldBe(1);
        loaded.Chain[0].Thumbprint.ShouldBe(intermediate.Thumbprint);
        loaded.Certificate.HasPrivateKey.ShouldBeTrue();
        loaded.NotAfter.ShouldBe(original.NotAfter);
        loaded.RefreshAt.ShouldBe(loaded.NotBefore + (loaded.NotAfter - loaded.NotBefore) / 2);
    }

    [Fact]
    public void WorkloadCertificate_KeyOfAnotherCertificate_IsRejected()
    {
        using WorkloadCertificate alice = _pki.Issue("alice");
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Should.Throw<FormatException>(() => WorkloadCertificate.FromPem(alice.CertificateChainPem(), otherKey.ExportPkcs8PrivateKeyPem()))
            .Message.ShouldBe("workload private key does not match the first certificate of the chain");
    }

    [Fact]
    public void WorkloadCertificate_LeafWithoutSpiffeId_IsRejected()
    {
        using X509Certificate2 bare = _pki.IssueRawLeaf("https://example.com/");

        Should.Throw<ArgumentException>(() => new WorkloadCertificate(bare, []))
            .Message.ShouldContain("has no spiffe:// URI SAN");
    }
}
