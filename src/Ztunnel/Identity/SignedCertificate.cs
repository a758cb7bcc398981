using System.Security.Cryptography.X509Certificates;

namespace Ztunnel.Identity;

/// <summary>What a CA returns: the leaf (without private key) and the intermediates up to (not including) the root.</summary>
internal sealed record SignedCertificate(X509Certificate2 Certificate, X509Certificate2Collection Intermediates);
