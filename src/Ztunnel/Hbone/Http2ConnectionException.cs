namespace Ztunnel.Hbone;

/// <summary>
/// A connection error (RFC 9113 §5.4.1): the peer broke the protocol for the whole connection. The
/// connection answers with GOAWAY carrying <see cref="ErrorCode"/> and closes.
/// </summary>
internal sealed class Http2ConnectionException : IOException
{
    public Http2ConnectionException(Http2ErrorCode errorCode, string message)
        : base($"HTTP/2 connection error {errorCode}: {message}")
    {
        ErrorCode = errorCode;
    }

    public Http2ConnectionException() : this(Http2ErrorCode.ProtocolError, "unspecified") { }
    public Http2ConnectionException(string message) : this(Http2ErrorCode.ProtocolError, message) { }
    public Http2ConnectionException(string message, Exception inner) : base(message, inner) { ErrorCode = Http2ErrorCode.ProtocolError; }

    public Http2ErrorCode ErrorCode { get; }
}
