using System.Security.Authentication;

namespace Ztunnel.Tls;

/// <summary>
/// Why our side refused the peer's certificate during an HBONE handshake (no certificate, untrusted
/// chain, expired or not yet valid, no SPIFFE ID, wrong trust domain, unexpected identity).
/// </summary>
/// <remarks>
/// Thrown by the daemon's transport (<see cref="Native.NativeTlsStream"/>) right after the handshake, and from
/// the RemoteCertificateValidationCallback of <see cref="HboneTls"/>'s SslStream options: .NET 10's
/// SslStream lets a callback exception escape AuthenticateAsClientAsync/AuthenticateAsServerAsync
/// unchanged, so callers (and the HBONE server, which catches AuthenticationException) see this type with the
/// reason as its message. Returning false instead would only yield the generic "rejected by the provided
/// RemoteCertificateValidationCallback". The cost: no TLS alert is sent, the peer sees the connection
/// close (EOF or reset) during or right after its handshake.
/// </remarks>
public sealed class TlsPeerRejectedException : AuthenticationException
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
