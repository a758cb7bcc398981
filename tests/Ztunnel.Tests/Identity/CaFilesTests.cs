using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Identity;
using Ztunnel.Tests.Discovery;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Identity;

public sealed class CaFilesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string CaDir => _dir.File("ca");

    [Fact]
    public void Initialize_WritesRootCertificate_AndAPrivateKeyOnlyTheOwnerCanRead()
    {
        using var root = CaFiles.Initialize(CaDir, "example.org", force: false);

        File.GetUnixFileMode(Path.Combine(CaDir, "root-key.pem")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var written = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(CaDir, "root-cert.pem")));
        written.Thumbprint.ShouldBe(root.Thumbprint);
        written.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority.ShouldBeTrue();
        using var ca = FileCertificateAuthority.Load(CaDir);
        ca.TrustDomain.ShouldBe("example.org");
        ca.TrustBundle.Roots.ShouldHaveSingleItem().Thumbprint.ShouldBe(root.Thumbprint);
    }

    [Fact]
    public void Initialize_OverAnExistingCa_RefusesUnlessForced()
    {
        using var first = CaFiles.Initialize(CaDir, "cluster.local", force: false);

        Should.Throw<CertificateAuthorityException>(() => CaFiles.Initialize(CaDir, "cluster.local", force: false))
            .Message.ShouldBe($"a CA already exists in '{CaDir}' ({Path.Combine(CaDir, "root-cert.pem")}); use --force to replace it (certificates it issued will no longer be trusted)");
        using (var loaded = FileCertificateAuthority.Load(CaDir))
        {
            loaded.TrustBundle.Roots[0].Thumbprint.ShouldBe(first.Thumbprint);
        }

        using var second = CaFiles.Initialize(CaDir, "cluster.local", force: true);
        using var reloaded = FileCertificateAuthority.Load(CaDir);
        reloaded.TrustBundle.Roots[0].Thumbprint.ShouldBe(second.Thumbprint);
        second.Thumbprint.ShouldNotBe(first.Thumbprint);
    }

    [Fact]
    public void Initialize_BadTrustDomain_IsRejected()
    {
        Should.Throw<CertificateAuthorityException>(() => CaFiles.Initialize(CaDir, "Bad Domain", force: false))
            .Message.ShouldStartWith("trust domain 'Bad Domain' is not valid");
        Directory.Exists(CaDir).ShouldBeFalse();
    }

    [Fact]
    public void Load_MissingDirectory_SaysHowToCreateOne()
    {
        Should.Throw<CertificateAuthorityException>(() => FileCertificateAuthority.Load(CaDir))
            .Message.ShouldBe($"CA directory '{CaDir}' does not exist (create one with `ztunnel ca init {CaDir}`)");
    }

    [Fact]
    public void Load_MissingKey_NamesTheFile()
    {
        CaFiles.Initialize(CaDir, "cluster.local", force: false).Dispose();
        File.Delete(Path.Combine(CaDir, "root-key.pem"));

        Should.Throw<CertificateAuthorityException>(() => FileCertificateAuthority.Load(CaDir))
            .Message.ShouldBe($"CA file '{Path.Combine(CaDir, "root-key.pem")}' is missing");
    }

    [Fact]
    public void Load_CorruptCertificate_NamesTheFile()
    {
        CaFiles.Initialize(CaDir, "cluster.local", force: false).Dispose();
        File.WriteAllText(Path.Combine(CaDir, "root-cert.pem"), "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");

        Should.Throw<CertificateAuthorityException>(() => FileCertificateAuthority.Load(CaDir))
            .Message.ShouldStartWith($"'{Path.Combine(CaDir, "root-cert.pem")}' is not a PEM certificate");
    }

    [Fact]
    public void Load_KeyOfAnotherCa_IsReportedAsNotMatching()
    {
        CaFiles.Initialize(CaDir, "cluster.local", force: false).Dispose();
        CaFiles.Initialize(_dir.File("other"), "cluster.local", force: false).Dispose();
        File.Copy(_dir.File("other/root-key.pem"), Path.Combine(CaDir, "root-key.pem"), overwrite: true);

        Should.Throw<CertificateAuthorityException>(() => FileCertificateAuthority.Load(CaDir))
            .Message.ShouldBe($"'{Path.Combine(CaDir, "root-key.pem")}' does not match the certificate '{Path.Combine(CaDir, "root-cert.pem")}' (different key pair)");
    }

    [Fact]
    public async Task SignAsync_IssuesTheRequestedIdentity_AndRefusesAnyOther()
    {
        CaFiles.Initialize(CaDir, "cluster.local", force: false).Dispose();
        using var ca = FileCertificateAuthority.Load(CaDir);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var a = SpiffeId.Parse("spiffe://cluster.local/ns/demo/sa/a");
        byte[] csr = CertificateMinter.CreateCsr(key, a);

        var signed = await ca.SignAsync(csr, a, TimeSpan.FromHours(1));
        SpiffeCertificate.GetIdentity(signed.Certificate).ShouldBe(a);
        (signed.Certificate.NotAfter - signed.Certificate.NotBefore).ShouldBe(TimeSpan.FromMinutes(61));

        var b = SpiffeId.Parse("spiffe://cluster.local/ns/demo/sa/b");
        (await Should.ThrowAsync<CertificateRequestRejectedException>(() => ca.SignAsync(csr, b, TimeSpan.FromHours(1))))
            .Message.ShouldBe($"certificate signing request is for {a}, not the requested {b}");

        var foreign = SpiffeId.Parse("spiffe://other.org/ns/demo/sa/a");
        (await Should.ThrowAsync<CertificateRequestRejectedException>(() => ca.SignAsync(CertificateMinter.CreateCsr(key, foreign), foreign, TimeSpan.FromHours(1))))
            .Message.ShouldBe($"requested identity {foreign} is outside this CA's trust domain 'cluster.local'");
    }

    [Fact]
    public async Task SignAsync_NeverOutlivesTheRoot()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = new FileCertificateAuthority(CertificateMinter.CreateRoot("cluster.local", now.AddHours(-1), now.AddHours(2)));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var a = SpiffeId.Parse("spiffe://cluster.local/ns/demo/sa/a");

        var signed = await ca.SignAsync(CertificateMinter.CreateCsr(key, a), a, TimeSpan.FromHours(24));

        signed.Certificate.NotAfter.ShouldBeLessThanOrEqualTo(ca.NotAfter.UtcDateTime.ToLocalTime());
    }

    public void Dispose() => _dir.Dispose();
}
