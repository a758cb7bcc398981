using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;

namespace Ztunnel.Identity;

/// <summary>
/// The built-in CA's directory: <c>root-cert.pem</c> (the trust bundle, may be shared) and
/// <c>root-key.pem</c> (PKCS#8, mode 0600, never leaves the directory).
/// </summary>
internal static class CaFiles
{
    public const string CertificateFile = "root-cert.pem";
    public const string KeyFile = "root-key.pem";

    /// <summary>Default validity of a new root: long enough for a demo or small cluster, short enough to rotate.</summary>
    public static readonly TimeSpan DefaultRootLifetime = TimeSpan.FromDays(10 * 365);

    /// <summary>
    /// Creates a new root CA for <paramref name="trustDomain"/> in <paramref name="directory"/> (created if
    /// missing). Refuses to replace an existing CA unless <paramref name="force"/>: every certificate
    /// issued by the old one would stop being trusted.
    /// </summary>
    public static X509Certificate2 Initialize(string directory, string trustDomain, bool force, TimeProvider? time = null, TimeSpan? lifetime = null)
    {
        if (!SpiffeId.TryParse($"spiffe://{trustDomain}/ns/x/sa/x", out _, out string? error))
        {
            throw new CertificateAuthorityException($"trust domain '{trustDomain}' is not valid: {error}");
        }
        string certPath = Path.Combine(directory, CertificateFile);
        string keyPath = Path.Combine(directory, KeyFile);
        if (!force && (File.Exists(certPath) || File.Exists(keyPath)))
        {
            string existing = File.Exists(certPath) ? certPath : keyPath;
            throw new CertificateAuthorityException($"a CA already exists in '{directory}' ({existing}); use --force to replace it (certificates it issued will no longer be trusted)");
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        // Backdated a little so a freshly made CA is valid on nodes whose clocks run slightly behind.
        var root = CertificateMinter.CreateRoot(trustDomain, now.AddMinutes(-5), now + (lifetime ?? DefaultRootLifetime));
        try
        {
            Directory.CreateDirectory(directory);
            using ECDsa key = root.GetECDsaPrivateKey() ?? throw new CertificateAuthorityException("new root has no ECDSA key");
            // The key file is created with 0600 from the start, never readable by others even briefly.
            WriteFile(keyPath, key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            WriteFile(certPath, root.ExportCertificatePem(),
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            root.Dispose();
            throw new CertificateAuthorityException($"cannot write the CA to '{directory}': {e.Message}", e);
        }
        return root;
    }

    /// <summary>Loads the root certificate with its key from <paramref name="directory"/>; errors name the file.</summary>
    public static X509Certificate2 Load(string directory)
    {
        string certPath = Path.Combine(directory, CertificateFile);
        string keyPath = Path.Combine(directory, KeyFile);
        if (!Directory.Exists(directory))
        {
            throw new CertificateAuthorityException($"CA directory '{directory}' does not exist (create one with `ztunnel ca init {directory}`)");
        }
        string certPem = ReadFile(certPath);
        string keyPem = ReadFile(keyPath);

        X509Certificate2 cert;
        try
        {
            cert = X509Certificate2.CreateFromPem(certPem);
        }
        catch (CryptographicException e)
        {
            throw new CertificateAuthorityException($"'{certPath}' is not a PEM certificate: {e.Message}", e);
        }
        using (cert)
        {
            var constraints = cert.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
            if (constraints is not { CertificateAuthority: true })
            {
                throw new CertificateAuthorityException($"'{certPath}' is not a CA certificate (basic constraints CA:true missing)");
            }
            using var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(keyPem);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                throw new CertificateAuthorityException($"'{keyPath}' is not a PEM EC private key: {e.Message}", e);
            }
            try
            {
                return cert.CopyWithPrivateKey(key);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                throw new CertificateAuthorityException($"'{keyPath}' does not match the certificate '{certPath}' (different key pair)", e);
            }
        }
    }

    private static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            throw new CertificateAuthorityException($"CA file '{path}' is missing");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateAuthorityException($"cannot read CA file '{path}': {e.Message}", e);
        }
    }

    private static void WriteFile(string path, string content, UnixFileMode mode)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode };
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }
        // UnixCreateMode applies only to new files (and is masked by umask): set it on a replaced file too.
        File.SetUnixFileMode(path, mode);
    }
}
