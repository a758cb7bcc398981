using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Tls;

/// <summary>
/// TLS settings for HBONE (DESIGN §4): TLS 1.3 only, AES-GCM suites, ALPN h2, no SNI, mutual
/// authentication against the mesh trust bundle with SPIFFE identity checks. Build the options once per
/// (certificate, bundle[, expected peer]) and reuse them for every connection.
/// </summary>
/// <remarks>
/// The daemon's own connections run on OpenSSL directly (<see cref="Native.NativeTlsContext"/>, the same
/// settings and checks); these SslStream options serve tools and tests that need an independent .NET peer.
/// </remarks>
public static class HboneTls
{
    /// <summary>The only cipher suites HBONE negotiates: TLS 1.3 AES-GCM (DESIGN §4).</summary>
    private static readonly CipherSuitesPolicy _cipherSuites = new(
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
    ]);

    private static readonly List<SslApplicationProtocol> _alpn = [SslApplicationProtocol.Http2];

    internal const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    internal const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>Options for connecting to a server whose identity must be <paramref name="expectedServer"/>.</summary>
    /// <param name="logger">Optional: also log each rejection (the caller gets it as <see cref="TlsPeerRejectedException"/> anyway).</param>
    public static SslClientAuthenticationOptions ClientOptions(WorkloadCertificate own, TrustBundle bundle, SpiffeId expectedServer, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(bundle);
        var validator = PeerCertificateValidator.ForServer(bundle, expectedServer, logger);
        return new SslClientAuthenticationOptions
        {
            // Empty target host: no SNI extension is sent (Istio ztunnel sends none either).
            TargetHost = string.Empty,
            EnabledSslProtocols = SslProtocols.Tls13,
            CipherSuitesPolicy = _cipherSuites,
            ApplicationProtocols = _alpn,
            ClientCertificateContext = own.Context,
            CertificateChainPolicy = ChainPolicy(bundle, ServerAuthOid),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            EncryptionPolicy = EncryptionPolicy.RequireEncryption,
            AllowRenegotiation = false,
            RemoteCertificateValidationCallback = validator.Validate,
        };
    }

    /// <summary>Options for accepting HBONE connections as <paramref name="own"/>; clients must present a certificate.</summary>
    /// <param name="logger">Log each rejected client with its reason (the HBONE server itself logs handshake failures only at Debug).</param>
    public static SslServerAuthenticationOptions ServerOptions(WorkloadCertificate own, TrustBundle bundle, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(bundle);
        var validator = PeerCertificateValidator.ForClient(bundle, own.Identity.TrustDomain, logger);
        return new SslServerAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            CipherSuitesPolicy = _cipherSuites,
            ApplicationProtocols = _alpn,
            ServerCertificateContext = own.Context,
            ClientCertificateRequired = true,
            CertificateChainPolicy = ChainPolicy(bundle, ClientAuthOid),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            EncryptionPolicy = EncryptionPolicy.RequireEncryption,
            AllowRenegotiation = false,
            RemoteCertificateValidationCallback = validator.Validate,
        };
    }

    /// <summary>
    /// The SPIFFE identity of the authenticated peer, or null if it presented none. Parses the certificate on
    /// every call: read it once per connection.
    /// </summary>
    public static SpiffeId? GetPeerIdentity(SslStream authenticated)
    {
        ArgumentNullException.ThrowIfNull(authenticated);
        X509Certificate? remote = authenticated.RemoteCertificate;
        if (remote is null)
        {
            return null;
        }
        if (remote is X509Certificate2 cert)
        {
            return SpiffeCertificate.GetIdentity(cert);
        }
        using X509Certificate2 copy = X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
        return SpiffeCertificate.GetIdentity(copy);
    }

    /// <summary>
    /// The reason a handshake failed, for logs and error responses: our own rejection reason if our side
    /// refused the peer's certificate (<see cref="TlsPeerRejectedException"/>) or the negotiation failed
    /// (<see cref="TlsNegotiationException"/>, which names the reason), else the exception's message
    /// with its innermost cause, and a hint when the peer just closed the connection (which is what a peer
    /// that rejected our certificate does).
    /// </summary>
    public static string DescribeFailure(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Exception innermost = exception;
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is TlsPeerRejectedException or TlsNegotiationException)
            {
                return e.Message;
            }
            innermost = e;
        }
        string message = ReferenceEquals(innermost, exception) ? exception.Message : $"{exception.Message} ({innermost.Message})";
        return exception is IOException or System.Net.Sockets.SocketException
            ? $"TLS connection closed by the peer: {message} (the peer may have rejected our certificate; see its log)"
            : $"TLS handshake failed: {message}";
    }

    // Chain to the mesh bundle only, never the system store; no revocation (the mesh has no CRL/OCSP,
    // certificates are short-lived instead); validity time is checked against the current time.
    internal static X509ChainPolicy ChainPolicy(TrustBundle bundle, string usageOid)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
            VerificationTimeIgnored = true,
        };
        policy.CustomTrustStore.AddRange(bundle.Roots);
        policy.ApplicationPolicy.Add(new Oid(usageOid));
        return policy;
    }
}
