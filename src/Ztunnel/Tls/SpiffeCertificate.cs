using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Ztunnel.Tls;

/// <summary>Reads the workload identity out of a certificate: the first URI SAN that starts with <c>spiffe://</c>.</summary>
internal static class SpiffeCertificate
{
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>The identity of <paramref name="cert"/>, or null when it has no (well-formed) SPIFFE URI SAN.</summary>
    public static SpiffeId? GetIdentity(X509Certificate2 cert) =>
        TryGetIdentity(cert, out var id, out _) ? id : null;

    /// <summary>
    /// Like <see cref="GetIdentity"/>, but says why there is no identity ("has no subject alternative name
    /// extension", "has no spiffe:// URI SAN", "URI SAN ... is not a valid SPIFFE ID ...").
    /// </summary>
    public static bool TryGetIdentity(X509Certificate2 cert, out SpiffeId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        X509Extension? san = FindSan(cert);
        if (san is null)
        {
            error = "has no subject alternative name extension (a SPIFFE URI SAN is required)";
            return false;
        }
        List<string> uris;
        try
        {
            uris = SubjectAltNames.ReadUris(san.RawData, out _);
        }
        catch (AsnContentException e)
        {
            error = $"has a malformed subject alternative name extension: {e.Message}";
            return false;
        }
        foreach (string text in uris)
        {
            if (!text.StartsWith("spiffe://", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            // Identity = the FIRST spiffe URI (DESIGN §4); a malformed first one is an error, not skipped.
            if (!SpiffeId.TryParse(text, out id, out string? parseError))
            {
                error = $"has a malformed SPIFFE URI SAN: {parseError}";
                return false;
            }
            error = null;
            return true;
        }
        error = "has no spiffe:// URI SAN";
        return false;
    }

    /// <summary>All URI SANs of <paramref name="cert"/> (for CSR/issuance checks and error messages).</summary>
    /// <exception cref="AsnContentException">The extension is malformed.</exception>
    public static List<string> GetUris(X509Certificate2 cert)
    {
        X509Extension? san = FindSan(cert);
        return san is null ? [] : SubjectAltNames.ReadUris(san.RawData, out _);
    }

    /// <summary>A short human description of a certificate for error messages.</summary>
    public static string Describe(X509Certificate2 cert)
    {
        string who = TryGetIdentity(cert, out var id, out _) ? id.ToString()
            : cert.Subject.Length > 0 ? $"subject '{cert.Subject}'" : "(no identity)";
        return $"{who}, issuer '{cert.Issuer}', serial {cert.SerialNumber}";
    }

    internal static X509Extension? FindSan(X509Certificate2 cert)
    {
        foreach (X509Extension ext in cert.Extensions)
        {
            if (ext.Oid?.Value == SubjectAltNameOid)
            {
                return ext;
            }
        }
        return null;
    }
}
