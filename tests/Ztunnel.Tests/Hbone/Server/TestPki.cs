using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>A mesh for tests: one root, workload certificates minted on demand.</summary>
internal static class TestPki
{
    public const string TrustDomain = "cluster.local";

    private static readonly Lazy<X509Certificate2> LazyRoot = new(() =>
        CertificateMinter.CreateRoot(TrustDomain, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1)));

    public static X509Certificate2 Root => LazyRoot.Value;

    public static TrustBundle Bundle => new([X509CertificateLoader.LoadCertificate(Root.RawData)]);

    public static SpiffeId Id(string ns, string sa) => new(TrustDomain, ns, sa);

    public static WorkloadCertificate Issue(SpiffeId id) =>
        CertificateMinter.IssueWorkload(Root, id, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));

    public static SslServerAuthenticationOptions ServerOptions(SpiffeId id) => HboneTls.ServerOptions(Issue(id), Bundle);

    public static NativeTlsContext ServerContext(SpiffeId id) => NativeTlsContext.ForServer(Issue(id), Bundle);

    public static SslClientAuthenticationOptions ClientOptions(SpiffeId own, SpiffeId expectedServer) =>
        HboneTls.ClientOptions(Issue(own), Bundle, expectedServer);
}
