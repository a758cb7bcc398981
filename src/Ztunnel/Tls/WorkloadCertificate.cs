using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Ztunnel.Tls;

/// <summary>
/// A workload's leaf certificate (with its private key), the intermediates that chain it to the bundle,
/// and its identity. The <see cref="SslStreamCertificateContext"/> (for SslStream peers: tools, tests) is
/// built on first use and shared by every connection that presents this certificate.
/// </summary>
public sealed class WorkloadCertificate : IDisposable
{
    /// <param name="certificate">The leaf; must have its private key and a SPIFFE URI SAN.</param>
    /// <param name="chain">Intermediates, leaf-most first, without the root (may be empty).</param>
    private SslStreamCertificateContext? _context;

    public WorkloadCertificate(X509Certificate2 certificate, X509Certificate2Collection chain)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(chain);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"workload certificate {certificate.Subject} has no private key", nameof(certificate));
        }
        if (!SpiffeCertificate.TryGetIdentity(certificate, out var id, out string? error))
        {
            throw new ArgumentException($"workload certificate (issuer '{certificate.Issuer}', serial {certificate.SerialNumber}) {error}", nameof(certificate));
        }
        Identity = id;
        Certificate = certificate;
        Chain = chain;
        NotBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
    }

    public SpiffeId Identity { get; }
    public X509Certificate2 Certificate { get; }
    public X509Certificate2Collection Chain { get; }
    public DateTimeOffset NotBefore { get; }
    public DateTimeOffset NotAfter { get; }
    // offline: never fetch missing intermediates over the network; the chain is what we were given.
    public SslStreamCertificateContext Context => _context ??= SslStreamCertificateContext.Create(Certificate, Chain, offline: true);

    /// <summary>Half-life of the certificate: when DESIGN §8 says to start refreshing it.</summary>
    public DateTimeOffset RefreshAt => NotBefore + (NotAfter - NotBefore) / 2;

    /// <summary>
    /// Loads a leaf + intermediates from <paramref name="certificateChainPem"/> (leaf first) and its key
    /// from <paramref name="privateKeyPem"/> (PKCS#8 or SEC1 EC key).
    /// </summary>
    public static WorkloadCertificate FromPem(string certificateChainPem, string privateKeyPem)
    {
        ArgumentNullException.ThrowIfNull(certificateChainPem);
        ArgumentNullException.ThrowIfNull(privateKeyPem);
        var all = new X509Certificate2Collection();
        all.ImportFromPem(certificateChainPem);
        if (all.Count == 0)
        {
            throw new FormatException("workload certificate PEM has no CERTIFICATE block");
        }
        using var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(privateKeyPem);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"workload private key PEM: {e.Message}", e);
        }
        X509Certificate2 leaf;
        try
        {
            leaf = all[0].CopyWithPrivateKey(key);
        }
        catch (ArgumentException e)
        {
            throw new FormatException("workload private key does not match the first certificate of the chain", e);
        }
        var chain = new X509Certificate2Collection();
        for (int i = 1; i < all.Count; i++)
        {
            chain.Add(all[i]);
        }
        all[0].Dispose();
        return new WorkloadCertificate(leaf, chain);
    }

    /// <summary>The leaf followed by the intermediates, PEM encoded.</summary>
    public string CertificateChainPem()
    {
        var sb = new StringBuilder();
        sb.Append(Certificate.ExportCertificatePem()).Append('\n');
        foreach (X509Certificate2 c in Chain)
        {
            sb.Append(c.ExportCertificatePem()).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The private key as an unencrypted PKCS#8 PEM (for tests and handing to openssl).</summary>
    public string PrivateKeyPem()
    {
        using ECDsa key = Certificate.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException("workload certificate has no ECDSA private key");
        return key.ExportPkcs8PrivateKeyPem();
    }

    public override string ToString() => $"{Identity} (valid {NotBefore:u} .. {NotAfter:u})";

    public void Dispose()
    {
        Certificate.Dispose();
    }
}
