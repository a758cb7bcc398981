namespace Ztunnel.Hbone.Hpack;

/// <summary>
/// A header block violated RFC 7541 (or our header list cap). HTTP/2 treats this as a connection
/// error of type COMPRESSION_ERROR (RFC 9113 §4.3): the peer's and our dynamic tables can no longer
/// be trusted to agree, so the whole connection goes.
/// </summary>
internal sealed class HpackException : Exception
{
    public HpackException()
    {
    }

    public HpackException(string message)
        : base(message)
    {
    }

    public HpackException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
