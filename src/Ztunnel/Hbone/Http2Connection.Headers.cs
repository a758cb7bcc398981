using System.Buffers;

namespace Ztunnel.Hbone;

// Receiving header blocks (HEADERS + CONTINUATION, RFC 9113 §4.3, §6.2, §6.10): fragments are joined into
// one block, bounded in bytes and in frames, then handed to the role (request or response headers).
public abstract partial class Http2Connection
{
    /// <summary>
    /// Cap on one encoded header block across HEADERS + CONTINUATION. Our decoded cap is 16 KiB; even
    /// worst-case Huffman stays far below this. Stops an endless CONTINUATION stream from growing memory.
    /// </summary>
    private const int MaxHeaderBlockSize = 64 * 1024;

    /// <summary>Cap on CONTINUATION frames per block: zero-length ones would otherwise never hit the byte cap.</summary>
    private const int MaxContinuationFrames = 64;

    private byte[]? _headerBlock;
    private int _headerBlockLength;
    private int _continuationStreamId;
    private int _continuationCount;
    private bool _headerEndStream;
    private bool _headerSelfDependent;

    /// <summary>
    /// A HEADERS frame arrived for <paramref name="streamId"/>, before its block is decoded: the role checks
    /// the stream id (the client: a stream it opened; the server: a new stream's id rules, §5.1.1).
    /// </summary>
    private protected abstract void OnHeadersFrame(int streamId);

    /// <summary>
    /// A complete header block. The role must always decode it (the HPACK table must stay in sync even for
    /// closed streams, §4.3), then apply it.
    /// </summary>
    private protected abstract void OnHeaderBlock(int streamId, ReadOnlySpan<byte> block, bool endStream, bool selfDependent);

    private void OnHeaders(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        ReadOnlySequence<byte> fragment = Http2FrameReader.GetHeaderBlockFragment(header, payload, out bool selfDependent);
        OnHeadersFrame(header.StreamId);
        _headerEndStream = header.HasFlag(Http2Flags.EndStream);
        _headerSelfDependent = selfDependent;
        if (header.HasFlag(Http2Flags.EndHeaders) && fragment.IsSingleSegment)
        {
            // The common case: the whole block in one frame, decoded in place.
            OnHeaderBlock(header.StreamId, fragment.FirstSpan, _headerEndStream, _headerSelfDependent);
            return;
        }
        _headerBlockLength = 0;
        AppendHeaderFragment(header.StreamId, fragment);
        if (header.HasFlag(Http2Flags.EndHeaders))
        {
            OnHeaderBlock(header.StreamId, _headerBlock.AsSpan(0, _headerBlockLength), _headerEndStream, _headerSelfDependent);
        }
        else
        {
            _continuationStreamId = header.StreamId;
            _continuationCount = 0;
        }
    }

    private void OnContinuation(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (_continuationStreamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"CONTINUATION on stream {header.StreamId} without a HEADERS frame before it");
        }
        if (header.StreamId != _continuationStreamId)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                $"CONTINUATION on stream {header.StreamId} while the header block of stream {_continuationStreamId} is open");
        }
        if (++_continuationCount > MaxContinuationFrames)
        {
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm,
                $"header block of stream {header.StreamId} spans more than {MaxContinuationFrames} CONTINUATION frames");
        }
        AppendHeaderFragment(header.StreamId, payload);
        if (header.HasFlag(Http2Flags.EndHeaders))
        {
            _continuationStreamId = 0;
            OnHeaderBlock(header.StreamId, _headerBlock.AsSpan(0, _headerBlockLength), _headerEndStream, _headerSelfDependent);
        }
    }

    private void AppendHeaderFragment(int streamId, in ReadOnlySequence<byte> fragment)
    {
        long needed = _headerBlockLength + fragment.Length;
        if (needed > MaxHeaderBlockSize)
        {
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm,
                $"header block of stream {streamId} is larger than {MaxHeaderBlockSize} bytes");
        }
        if (_headerBlock is null || _headerBlock.Length < needed)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent((int)Math.Max(needed, 4096));
            if (_headerBlock is not null)
            {
                _headerBlock.AsSpan(0, _headerBlockLength).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_headerBlock);
            }
            _headerBlock = bigger;
        }
        fragment.CopyTo(_headerBlock.AsSpan(_headerBlockLength));
        _headerBlockLength = (int)needed;
    }

    private void ReturnHeaderBuffer()
    {
        if (_headerBlock is { } buffer)
        {
            _headerBlock = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
