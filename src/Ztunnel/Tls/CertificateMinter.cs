using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ztunnel.Tls;

/// <summary>
/// Mints the mesh's certificates with System.Security.Cryptography only: ECDSA P-256 keys, SHA-256
/// signatures, leaf profile as Istio issues it (empty subject, one critical URI SAN, digitalSignature,
/// serverAuth + clientAuth).
/// </summary>
public static class CertificateMinter
{
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>A self-signed root CA (CA:true, keyCertSign + cRLSign) with its private key.</summary>
    public static X509Certificate2 CreateRoot(string trustDomain, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        // Validate the trust domain with the same rules as identities.
        _ = new SpiffeId(trustDomain, "x", "x");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(trustDomain);
        subject.AddCommonName("Ztunnel root CA");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>An intermediate CA (CA:true, pathlen 0) signed by <paramref name="issuer"/>, with its private key.</summary>
    public static X509Certificate2 CreateIntermediate(X509Certificate2 issuer, string trustDomain, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        _ = new SpiffeId(trustDomain, "x", "x");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(trustDomain);
        subject.AddCommonName("Ztunnel intermediate CA");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using X509Certificate2 signed = request.Create(issuer, notBefore, notAfter, NewSerial());
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A PKCS#10 request (DER) for <paramref name="identity"/>: empty subject, exactly one URI SAN.</summary>
    public static byte[] CreateCsr(ECDsa key, SpiffeId identity)
    {
        ArgumentNullException.ThrowIfNull(key);
        var request = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(BuildSan(identity));
        return request.CreateSigningRequest();
    }

    /// <summary>
    /// Signs <paramref name="csrDer"/> with <paramref name="issuer"/> (which must have its private key).
    /// Throws <see cref="CertificateRequestRejectedException"/> naming the problem when the CSR's signature is
    /// invalid, its key is not ECDSA P-256, or it does not carry exactly one URI SAN that is a SPIFFE ID.
    /// Only the SAN is taken from the request; every other extension is set by this method.
    /// </summary>
    public static X509Certificate2 SignCsr(X509Certificate2 issuer, byte[] csrDer, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(csrDer);
        if (!issuer.HasPrivateKey)
        {
            throw new ArgumentException($"issuer '{issuer.Subject}' has no private key", nameof(issuer));
        }
        CertificateRequest csr = LoadCsr(csrDer);
        SpiffeId identity = RequestedIdentity(csr);
        RequireP256(csr.PublicKey);

        var request = new CertificateRequest(new X500DistinguishedName(""), csr.PublicKey, HashAlgorithmName.SHA256);
        AddLeafExtensions(request, issuer, identity);
        return request.Create(issuer, notBefore, notAfter, NewSerial());
    }

    /// <summary>Fresh P-256 key, CSR, signed by <paramref name="issuer"/>: a ready workload certificate.</summary>
    public static WorkloadCertificate IssueWorkload(X509Certificate2 issuer, SpiffeId id, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 signed = SignCsr(issuer, CreateCsr(key, id), notBefore, notAfter);
        X509Certificate2 withKey = signed.CopyWithPrivateKey(key);
        var chain = new X509Certificate2Collection();
        if (!IsSelfSigned(issuer))
        {
            // An intermediate issuer is sent along so peers can chain to the root in their bundle.
            chain.Add(X509CertificateLoader.LoadCertificate(issuer.RawData));
        }
        return new WorkloadCertificate(withKey, chain);
    }

    /// <summary>
    /// A certificate for tests that need a leaf outside the normal profile: the given SAN URIs (may be none)
    /// with the normal leaf extensions otherwise. Not for production use.
    /// </summary>
    internal static X509Certificate2 CreateLeafWithUris(X509Certificate2 issuer, ECDsa key, IReadOnlyList<string> uris, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var request = new CertificateRequest("CN=ztunnel-test-leaf", key, HashAlgorithmName.SHA256);
        if (uris.Count > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (string uri in uris)
            {
                san.AddUri(new Uri(uri));
            }
            request.CertificateExtensions.Add(san.Build(critical: false));
        }
        AddLeafExtensions(request, issuer, identity: null);
        using X509Certificate2 signed = request.Create(issuer, notBefore, notAfter, NewSerial());
        return signed.CopyWithPrivateKey(key);
    }

    private static void AddLeafExtensions(CertificateRequest request, X509Certificate2 issuer, SpiffeId? identity)
    {
        if (identity is SpiffeId id)
        {
            request.CertificateExtensions.Add(BuildSan(id));
        }
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid(ServerAuthOid), new Oid(ClientAuthOid) }, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
    }

    // The subject is empty, so the SAN must be critical (RFC 5280 §4.2.1.6); Istio does the same.
    private static X509Extension BuildSan(SpiffeId identity)
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(identity.ToUri());
        return san.Build(critical: true);
    }

    private static CertificateRequest LoadCsr(byte[] csrDer)
    {
        try
        {
            // Default options verify the request's self-signature (proof of possession of the key).
            // The extension request attribute is read so we can inspect the SAN; we copy nothing else.
            return CertificateRequest.LoadSigningRequest(
                csrDer, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        }
        catch (CryptographicException e)
        {
            throw new CertificateRequestRejectedException($"certificate signing request is invalid (malformed DER or bad signature): {e.Message}", e);
        }
    }

    private static SpiffeId RequestedIdentity(CertificateRequest csr)
    {
        var uris = new List<string>();
        int sanCount = 0;
        foreach (X509Extension ext in csr.CertificateExtensions)
        {
            if (ext.Oid?.Value != "2.5.29.17")
            {
                continue;
            }
            sanCount++;
            int otherNames;
            try
            {
                uris.AddRange(SubjectAltNames.ReadUris(ext.RawData, out otherNames));
            }
            catch (AsnContentException e)
            {
                throw new CertificateRequestRejectedException($"certificate signing request has a malformed subject alternative name: {e.Message}", e);
            }
            // DNS names, IPs, emails: an identity certificate carries only the SPIFFE ID.
            if (otherNames > 0)
            {
                throw new CertificateRequestRejectedException($"certificate signing request has {otherNames} non-URI subject alternative name(s); only one spiffe:// URI SAN is allowed");
            }
        }
        if (sanCount > 1)
        {
            throw new CertificateRequestRejectedException($"certificate signing request has {sanCount} subject alternative name extensions; exactly one is allowed");
        }
        if (uris.Count != 1)
        {
            string found = uris.Count == 0 ? "none" : string.Join(", ", uris);
            throw new CertificateRequestRejectedException($"certificate signing request must have exactly one URI SAN (a spiffe:// ID); found {uris.Count}: {found}");
        }
        if (!SpiffeId.TryParse(uris[0], out var id, out string? error))
        {
            throw new CertificateRequestRejectedException($"certificate signing request URI SAN is not a valid SPIFFE ID: {error}");
        }
        return id;
    }

    private static void RequireP256(PublicKey key)
    {
        string? curve = null;
        if (key.Oid.Value == EcPublicKeyOid && key.EncodedParameters?.RawData is { Length: > 0 })
        {
            try
            {
                curve = AsnDecoder.ReadObjectIdentifier(key.EncodedParameters!.RawData, AsnEncodingRules.DER, out _);
            }
            catch (AsnContentException)
            {
                curve = null;
            }
        }
        if (curve != P256Oid)
        {
            string what = key.Oid.Value == EcPublicKeyOid
                ? $"an EC key on curve {curve ?? "(unknown)"}"
                : $"a {key.Oid.FriendlyName ?? key.Oid.Value} key";
            throw new CertificateRequestRejectedException($"certificate signing request has {what}; only ECDSA P-256 keys are issued");
        }
    }

    // ~128 random bits as a positive INTEGER with a nonzero first octet, so the DER stays minimal
    // (RFC 5280 §4.1.2.2: unique per CA, positive, at most 20 octets).
    private static byte[] NewSerial()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        serial[0] |= 0x01;
        return serial;
    }

    private static bool IsSelfSigned(X509Certificate2 cert) => cert.SubjectName.RawData.AsSpan().SequenceEqual(cert.IssuerName.RawData);
}
