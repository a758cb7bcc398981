namespace Ztunnel.Hbone;

/// <summary>
/// A stream error (RFC 9113 §5.4.2): only one stream is affected. The connection answers with
/// RST_STREAM carrying <see cref="ErrorCode"/>; the other streams carry on.
/// </summary>
internal sealed class Http2StreamException : IOException
{
    public Http2StreamException(int streamId, Http2ErrorCode errorCode, string message)
        : base($"HTTP/2 stream {streamId} error {errorCode}: {message}")
    {
        StreamId = streamId;
        ErrorCode = errorCode;
    }

    public Http2StreamException() : this(0, Http2ErrorCode.ProtocolError, "unspecified") { }
    public Http2StreamException(string message) : this(0, Http2ErrorCode.ProtocolError, message) { }
    public Http2StreamException(string message, Exception inner) : base(message, inner) { ErrorCode = Http2ErrorCode.ProtocolError; }

    public int StreamId { get; }
    public Http2ErrorCode ErrorCode { get; }
}
