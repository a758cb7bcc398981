using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Tls;

/// <summary>A mesh root (trust domain cluster.local), a second unrelated root, and helpers to issue leaves.</summary>
internal sealed class TestPki : IDisposable
{
    public const string TrustDomain = "cluster.local";

    public TestPki()
    {
        Now = DateTimeOffset.UtcNow;
        Root = CertificateMinter.CreateRoot(TrustDomain, Now.AddDays(-30), Now.AddDays(365));
        OtherRoot = CertificateMinter.CreateRoot(TrustDomain, Now.AddDays(-30), Now.AddDays(365));
        Bundle = new TrustBundle([X509CertificateLoader.LoadCertificate(Root.RawData)]);
    }

    public DateTimeOffset Now { get; }
    public X509Certificate2 Root { get; }
    public X509Certificate2 OtherRoot { get; }
    public TrustBundle Bundle { get; }

    public static SpiffeId Id(string sa, string ns = "default", string td = TrustDomain) => new(td, ns, sa);

    public WorkloadCertificate Issue(SpiffeId id) => CertificateMinter.IssueWorkload(Root, id, Now.AddMinutes(-5), Now.AddHours(24));

    public WorkloadCertificate Issue(string sa) => Issue(Id(sa));

    public WorkloadCertificate IssueFromOtherRoot(string sa) => CertificateMinter.IssueWorkload(OtherRoot, Id(sa), Now.AddMinutes(-5), Now.AddHours(24));

    public WorkloadCertificate IssueExpired(string sa) => CertificateMinter.IssueWorkload(Root, Id(sa), Now.AddDays(-2), Now.AddDays(-1));

    public WorkloadCertificate IssueNotYetValid(string sa) => CertificateMinter.IssueWorkload(Root, Id(sa), Now.AddDays(1), Now.AddDays(2));

    /// <summary>A leaf signed by the mesh root with the given SAN URIs (none = no SAN at all).</summary>
    public X509Certificate2 IssueRawLeaf(params string[] uris)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return CertificateMinter.CreateLeafWithUris(Root, key, uris, Now.AddMinutes(-5), Now.AddHours(24));
    }

    public void Dispose()
    {
        Root.Dispose();
        OtherRoot.Dispose();
    }
}
