using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;

namespace Ztunnel.Identity;

/// <summary>
/// The built-in CA: signs workload certificates with the root key from a local directory
/// (<see cref="CaFiles"/>). For the local mode and small clusters; every daemon holding the key can
/// mint any identity, which is why Kubernetes clusters use a CA service instead.
/// </summary>
internal sealed class FileCertificateAuthority : ICertificateAuthority, IDisposable
{
    // Certificates start slightly in the past so a peer whose clock lags a little accepts them.
    private static readonly TimeSpan Backdate = TimeSpan.FromMinutes(1);

    // CertificateMinter.CreateRoot writes the trust domain as the root's organization (O=).
    private const string OrganizationOid = "2.5.4.10";

    private readonly X509Certificate2 _root;
    private readonly TimeProvider _time;

    public FileCertificateAuthority(X509Certificate2 root, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!root.HasPrivateKey)
        {
            throw new ArgumentException($"CA certificate '{root.Subject}' has no private key", nameof(root));
        }
        _root = root;
        _time = time ?? TimeProvider.System;
        TrustBundle = new TrustBundle([X509CertificateLoader.LoadCertificate(root.RawData)]);
        TrustDomain = root.SubjectName.EnumerateRelativeDistinguishedNames()
            .FirstOrDefault(n => !n.HasMultipleElements && n.GetSingleElementType().Value == OrganizationOid)?.GetSingleElementValue();
    }

    /// <summary>Loads the CA from <paramref name="directory"/>; throws <see cref="CertificateAuthorityException"/> naming the problem.</summary>
    public static FileCertificateAuthority Load(string directory, TimeProvider? time = null) => new(CaFiles.Load(directory), time);

    public TrustBundle TrustBundle { get; }

    /// <summary>The trust domain the root was made for (its organization name), if it says.</summary>
    public string? TrustDomain { get; }

    public DateTimeOffset NotAfter => new(_root.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    public Task<SignedCertificate> SignAsync(byte[] csrDer, SpiffeId requested, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        if (TrustDomain is not null && requested.TrustDomain != TrustDomain)
        {
            throw new CertificateRequestRejectedException($"requested identity {requested} is outside this CA's trust domain '{TrustDomain}'");
        }
        var now = _time.GetUtcNow();
        var notAfter = now + lifetime;
        if (notAfter > NotAfter)
        {
            // Never outlive the issuer: the chain would be invalid from that moment.
            notAfter = NotAfter;
        }
        if (notAfter <= now)
        {
            throw new CertificateRequestRejectedException($"CA certificate expired at {NotAfter:u}");
        }
        var cert = CertificateMinter.SignCsr(_root, csrDer, now - Backdate, notAfter);
        SpiffeId? actual = SpiffeCertificate.GetIdentity(cert);
        if (actual != requested)
        {
            cert.Dispose();
            // The CSR names the identity; it must be the one the caller is entitled to and asked for.
            throw new CertificateRequestRejectedException($"certificate signing request is for {actual?.ToString() ?? "no identity"}, not the requested {requested}");
        }
        return Task.FromResult(new SignedCertificate(cert, []));
    }

    public void Dispose() => _root.Dispose();
}
