using Ztunnel.Tls;

namespace Ztunnel.Identity;

/// <summary>
/// Signs workload certificate requests (DESIGN §8). The built-in CA signs from local files
/// (<see cref="FileCertificateAuthority"/>); a CA service for Kubernetes clusters comes behind the same interface.
/// </summary>
internal interface ICertificateAuthority
{
    /// <summary>The roots peers' certificates must chain to.</summary>
    TrustBundle TrustBundle { get; }

    /// <summary>
    /// Signs the PKCS#10 request <paramref name="csrDer"/> for <paramref name="requested"/>, valid for
    /// <paramref name="lifetime"/> (or less, if the CA's own certificate expires sooner). Throws
    /// <see cref="CertificateRequestRejectedException"/> when the request is refused, naming why.
    /// </summary>
    Task<SignedCertificate> SignAsync(byte[] csrDer, SpiffeId requested, TimeSpan lifetime, CancellationToken cancellationToken = default);
}
