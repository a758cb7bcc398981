using System.Security.Cryptography.X509Certificates;

namespace Ztunnel.Tls;

/// <summary>
/// The root certificates the mesh trusts. Peers must chain to one of these; the system trust store is
/// never consulted (a public CA must not be able to mint mesh identities).
/// </summary>
public sealed class TrustBundle
{
    public TrustBundle(X509Certificate2Collection roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        if (roots.Count == 0)
        {
            throw new ArgumentException("trust bundle has no certificates", nameof(roots));
        }
        Roots = roots;
    }

    public X509Certificate2Collection Roots { get; }

    /// <summary>Reads every <c>CERTIFICATE</c> block of <paramref name="pem"/>; throws when there is none.</summary>
    public static TrustBundle FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(pem);
        if (roots.Count == 0)
        {
            throw new FormatException("trust bundle PEM has no CERTIFICATE block");
        }
        return new TrustBundle(roots);
    }

    /// <summary>Reads the trust bundle file at <paramref name="path"/>; errors name the file.</summary>
    public static TrustBundle FromPemFile(string path)
    {
        try
        {
            return FromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new FormatException($"trust bundle '{path}': {e.Message}", e);
        }
    }

    public string ToPem()
    {
        var sb = new System.Text.StringBuilder();
        foreach (X509Certificate2 root in Roots)
        {
            sb.Append(root.ExportCertificatePem()).Append('\n');
        }
        return sb.ToString();
    }
}
