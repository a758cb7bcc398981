namespace Ztunnel.Identity;

/// <summary>No valid certificate for an identity (issuance failed); the message says why. The connection fails.</summary>
internal sealed class CertificateUnavailableException : Exception
{
    public CertificateUnavailableException()
    {
    }

    public CertificateUnavailableException(string message) : base(message)
    {
    }

    public CertificateUnavailableException(string message, Exception inner) : base(message, inner)
    {
    }
}
