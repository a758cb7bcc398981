using System.Security.Authentication;

namespace Ztunnel.Tls;

/// <summary>
/// An HBONE handshake that failed before any certificate check: no common TLS version or cipher suite, no
/// ALPN h2, or an alert from the peer. The message names the reason (OpenSSL's, where it has one).
/// </summary>
public sealed class TlsNegotiationException : AuthenticationException
{
    public TlsNegotiationException()
    {
    }

    public TlsNegotiationException(string message) : base(message)
    {
    }

    public TlsNegotiationException(string message, Exception inner) : base(message, inner)
    {
    }
}
