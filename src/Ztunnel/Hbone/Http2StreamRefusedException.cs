namespace Ztunnel.Hbone;

/// <summary>
/// The peer never processed the CONNECT (REFUSED_STREAM, or GOAWAY with a last-stream-id below ours,
/// RFC 9113 §6.8 and §8.7), or the connection could not take another stream: opening it again on
/// another connection is safe.
/// </summary>
public sealed class Http2StreamRefusedException : IOException
{
    public Http2StreamRefusedException(string message) : base(message) { }
    public Http2StreamRefusedException() : this("HTTP/2 stream refused") { }
    public Http2StreamRefusedException(string message, Exception inner) : base(message, inner) { }
}
