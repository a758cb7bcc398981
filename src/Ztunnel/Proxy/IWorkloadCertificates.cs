using Ztunnel.Tls;

namespace Ztunnel.Proxy;

/// <summary>What the proxy asks Identity for: a certificate per local identity and the mesh's roots.</summary>
internal interface IWorkloadCertificates
{
    /// <summary>The current certificate for <paramref name="identity"/> (issued on first use, refreshed in the background).</summary>
    Task<WorkloadCertificate> GetAsync(SpiffeId identity, CancellationToken cancellationToken);

    /// <summary>The roots peers must chain to.</summary>
    TrustBundle TrustBundle { get; }
}
