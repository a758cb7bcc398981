namespace Ztunnel.Tls;

/// <summary>
/// Why our side refused the peer's certificate during an HBONE handshake (no certificate, untrusted
/// chain, expired, no SPIFFE ID, wrong trust domain, unexpected identity). Thrown from the certificate
/// validation callback; SslStream surfaces it from AuthenticateAsClient/ServerAsync as the
/// <see cref="System.Security.Authentication.AuthenticationException"/> (directly or as its inner exception:
/// use <see cref="HboneTls.DescribeFailure"/> to get the reason either way).
/// </summary>
public sealed class TlsPeerRejectedException : Exception
{
    public TlsPeerRejectedException()
    {
    }

    public TlsPeerRejectedException(string message) : base(message)
    {
    }

    public TlsPeerRejectedException(string message, Exception inner) : base(message, inner)
    {
    }
}
