using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Tls;

/// <summary>
/// The HBONE certificate check for one side of the handshake (DESIGN §4). One instance per options object,
/// shared by all connections; it holds no per-connection state. A rejection throws
/// <see cref="TlsPeerRejectedException"/> with the reason, which is what the user sees.
/// </summary>
internal sealed class PeerCertificateValidator
{
    private readonly string _peerRole;
    private readonly SpiffeId? _expectedServer;
    private readonly string? _trustDomain;
    private readonly TrustBundle _bundle;
    private readonly ILogger? _logger;

    private PeerCertificateValidator(string peerRole, TrustBundle bundle, SpiffeId? expectedServer, string? trustDomain, ILogger? logger)
    {
        _peerRole = peerRole;
        _logger = logger;
        _bundle = bundle;
        _expectedServer = expectedServer;
        _trustDomain = trustDomain;
    }

    /// <summary>Client side: the server must chain to the bundle and be exactly <paramref name="expected"/>.</summary>
    public static PeerCertificateValidator ForServer(TrustBundle bundle, SpiffeId expected, ILogger? logger) =>
        new("server", bundle, expected, null, logger);

    /// <summary>Server side: the client must present a certificate chaining to the bundle, in <paramref name="trustDomain"/>.</summary>
    public static PeerCertificateValidator ForClient(TrustBundle bundle, string trustDomain, ILogger? logger) =>
        new("client", bundle, null, trustDomain, logger);

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        string? reason = Check(certificate, chain, errors);
        return reason is null || Reject(reason);
    }

    // Throws rather than returning false so the reason reaches the caller (see TlsPeerRejectedException).
    private bool Reject(string reason)
    {
        if (_logger is not null)
        {
            TlsLog.PeerRejected(_logger, reason);
        }
        throw new TlsPeerRejectedException(reason);
    }

    /// <summary>Null when the peer is acceptable, otherwise the reason it is not.</summary>
    internal string? Check(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return $"the {_peerRole} presented no certificate (HBONE requires mutual TLS)";
        }
        if (certificate is X509Certificate2 leaf)
        {
            return Check(leaf, chain, errors);
        }
        using X509Certificate2 copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return Check(copy, chain, errors);
    }

    private string? Check(X509Certificate2 leaf, X509Chain? chain, SslPolicyErrors errors)
    {
        // RemoteCertificateNameMismatch is expected and ignored: HBONE sends no SNI and certificates carry no
        // DNS names; the SPIFFE identity check below replaces the host name check.
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return DescribeChainFailure(leaf, chain);
        }
        if (!SpiffeCertificate.TryGetIdentity(leaf, out var identity, out string? idError))
        {
            return $"the {_peerRole} certificate ({SpiffeCertificate.Describe(leaf)}) {idError}";
        }
        if (_expectedServer is SpiffeId expected && identity != expected)
        {
            return $"server identity {identity} is not the expected {expected}";
        }
        if (_trustDomain is not null && identity.TrustDomain != _trustDomain)
        {
            return $"client identity {identity} is in trust domain '{identity.TrustDomain}', not ours '{_trustDomain}'";
        }
        return null;
    }

    private string DescribeChainFailure(X509Certificate2 leaf, X509Chain? chain)
    {
        string who = $"the {_peerRole} certificate ({SpiffeCertificate.Describe(leaf)})";
        if (chain is null)
        {
            return $"{who} could not be verified (no chain was built)";
        }
        DateTime now = DateTime.Now; // X509Certificate2.NotBefore/NotAfter are local times
        // Walk leaf-first so the message names the certificate that is actually wrong.
        X509ChainElementCollection elements = chain.ChainElements;
        for (int i = 0; i < elements.Count; i++)
        {
            X509Certificate2 cert = elements[i].Certificate;
            string name = i == 0 ? who : $"{who}: its issuer '{cert.Subject}'";
            foreach (X509ChainStatus status in elements[i].ChainElementStatus)
            {
                switch (status.Status)
                {
                    case X509ChainStatusFlags.NotTimeValid:
                        return now > cert.NotAfter
                            ? $"{name} expired at {cert.NotAfter.ToUniversalTime():u}"
                            : $"{name} is not yet valid (valid from {cert.NotBefore.ToUniversalTime():u})";
                    case X509ChainStatusFlags.NotSignatureValid:
                        return $"{name} has an invalid signature";
                    case X509ChainStatusFlags.NotValidForUsage:
                    case X509ChainStatusFlags.InvalidExtension:
                        return $"{name} is not valid for TLS {_peerRole} authentication ({status.StatusInformation.Trim()})";
                    case X509ChainStatusFlags.UntrustedRoot:
                    case X509ChainStatusFlags.PartialChain:
                        return $"{name} is not trusted: it does not chain to the trust bundle (roots: {RootNames()})";
                }
            }
        }
        var all = new StringBuilder();
        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            if (status.Status is X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain)
            {
                return $"{who} is not trusted: it does not chain to the trust bundle (roots: {RootNames()})";
            }
            all.Append(all.Length > 0 ? "; " : "").Append(status.Status).Append(": ").Append(status.StatusInformation.Trim());
        }
        return $"{who} failed chain validation: {(all.Length > 0 ? all.ToString() : "unknown error")}";
    }

    private string RootNames()
    {
        var sb = new StringBuilder();
        foreach (X509Certificate2 root in _bundle.Roots)
        {
            sb.Append(sb.Length > 0 ? ", " : "").Append('\'').Append(root.Subject).Append('\'');
        }
        return sb.ToString();
    }
}
