namespace Ztunnel.Identity;

/// <summary>The built-in CA's files cannot be created or used; the message names the file and the problem.</summary>
internal sealed class CertificateAuthorityException : Exception
{
    public CertificateAuthorityException()
    {
    }

    public CertificateAuthorityException(string message) : base(message)
    {
    }

    public CertificateAuthorityException(string message, Exception inner) : base(message, inner)
    {
    }
}
