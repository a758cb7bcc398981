using Ztunnel.Identity;
using Ztunnel.Proxy;
using Ztunnel.Tls;

namespace Ztunnel.Daemon;

/// <summary>Gives the proxy the certificate manager's certificates through the proxy's own small interface.</summary>
internal sealed class CertificateSource(CertificateManager manager) : IWorkloadCertificates
{
    public TrustBundle TrustBundle => manager.TrustBundle;

    public Task<WorkloadCertificate> GetAsync(SpiffeId identity, CancellationToken cancellationToken) =>
        manager.GetAsync(identity, cancellationToken);
}
