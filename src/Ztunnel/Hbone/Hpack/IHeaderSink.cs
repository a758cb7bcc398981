namespace Ztunnel.Hbone.Hpack;

/// <summary>
/// Receives the fields of a decoded header block, in order. The spans are only valid during the call
/// (they point into the decoder's table or scratch buffer, or into the caller's header block): copy what
/// you keep. This is how the decoder stays allocation-free.
/// </summary>
internal interface IHeaderSink
{
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}
