namespace Ztunnel.Tls;

/// <summary>A certificate signing request the CA refuses to sign; the message says what was wrong with it.</summary>
public sealed class CertificateRequestRejectedException : Exception
{
    public CertificateRequestRejectedException()
    {
    }

    public CertificateRequestRejectedException(string message) : base(message)
    {
    }

    public CertificateRequestRejectedException(string message, Exception inner) : base(message, inner)
    {
    }
}
