using System.Buffers;
using System.Text;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Hbone;

// Opening CONNECT streams and receiving header blocks (HEADERS + CONTINUATION, RFC 9113 §4.3, §6.2, §6.10).
public sealed partial class Http2ClientConnection
{
    /// <summary>
    /// Cap on one encoded header block across HEADERS + CONTINUATION. Our decoded cap is 16 KiB; even
    /// worst-case Huffman stays far below this. Stops an endless CONTINUATION stream from growing memory.
    /// </summary>
    private const int MaxHeaderBlockSize = 64 * 1024;

    /// <summary>Cap on CONTINUATION frames per block: zero-length ones would otherwise never hit the byte cap.</summary>
    private const int MaxContinuationFrames = 64;

    private readonly ResponseHeaderSink _responseSink = new();
    private byte[]? _headerBlock;
    private int _headerBlockLength;
    private int _continuationStreamId;
    private int _continuationCount;
    private bool _headerEndStream;
    private bool _headerSelfDependent;

    /// <summary>
    /// Opens a CONNECT tunnel to <paramref name="authority"/> (host:port): <c>:method CONNECT</c>,
    /// <c>:authority</c>, no <c>:scheme</c>/<c>:path</c> (RFC 9113 §8.5), then <paramref name="headers"/>
    /// (lowercase names: forwarded, baggage, traceparent). Completes on the response: 200 returns the tunnel;
    /// another status throws <see cref="HboneConnectException"/>; a reset or GOAWAY throws <see cref="IOException"/>
    /// (<see cref="Http2StreamRefusedException"/> when retrying elsewhere is safe).
    /// </summary>
    public Task<TunnelStream> OpenConnectAsync(string authority, IReadOnlyList<KeyValuePair<string, string>>? headers, CancellationToken ct) =>
        OpenConnectCoreAsync(authority, headers, reserved: false, ct);

    internal async Task<TunnelStream> OpenConnectCoreAsync(string authority, IReadOnlyList<KeyValuePair<string, string>>? headers, bool reserved, CancellationToken ct)
    {
        byte[] block;
        try
        {
            block = EncodeConnectHeaders(authority, headers);
        }
        catch
        {
            if (reserved)
            {
                ReleaseReservation();
            }
            throw;
        }
        Http2ClientStream stream;
        lock (_sync)
        {
            if (reserved)
            {
                _reservedStreams--;
            }
            if (_closed || _goAwayReceived || _shuttingDown || _nextStreamId >= MaxStreamId || (!reserved && !CanOpenStreamLocked()))
            {
                string why = WhyCannotOpenLocked();
                _lastActiveTimestamp = _time.GetTimestamp();
                CloseIfDrainedLocked();
                throw new Http2StreamRefusedException($"cannot open an HBONE CONNECT to {authority} on this HTTP/2 connection: {why}");
            }
            int id = _nextStreamId;
            _nextStreamId += 2;
            stream = new Http2ClientStream(this, id, authority, _peerInitialWindowSize, HboneDefaults.StreamWindow);
            _streams.Add(id, stream);
            // Stream ids must appear on the wire in increasing order (§5.1.1): allocate and write under one lock.
            Http2FrameWriter.WriteHeaders(_output, id, block, endStream: false, _peerMaxFrameSize);
            FlushOutputLocked();
        }
        try
        {
            await stream.ResponseTask.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            stream.Reset();
            throw;
        }
        return stream;
    }

    private static byte[] EncodeConnectHeaders(string authority, IReadOnlyList<KeyValuePair<string, string>>? headers)
    {
        if (string.IsNullOrEmpty(authority) || !IsValidFieldValue(authority))
        {
            throw new ArgumentException($"CONNECT authority '{authority}' is empty or has characters not allowed in a header", nameof(authority));
        }
        var output = new ArrayBufferWriter<byte>(256);
        HpackEncoder.Encode(":method"u8, "CONNECT"u8, output);
        HpackEncoder.Encode(":authority"u8, Encoding.ASCII.GetBytes(authority), output);
        if (headers is not null)
        {
            for (int i = 0; i < headers.Count; i++)
            {
                (string name, string value) = (headers[i].Key, headers[i].Value);
                if (!IsValidFieldName(name))
                {
                    throw new ArgumentException($"header name '{name}' is not a lowercase HTTP/2 field name (RFC 9113 §8.2.1)", nameof(headers));
                }
                if (!IsValidFieldValue(value))
                {
                    throw new ArgumentException($"header '{name}' has a value with CR, LF, NUL or non-ASCII characters", nameof(headers));
                }
                HpackEncoder.Encode(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), output);
            }
        }
        return output.WrittenSpan.ToArray();
    }

    // RFC 9113 §8.2.1 / RFC 9110 §5.1: token characters, and no uppercase in HTTP/2. Connection-specific
    // fields (§8.2.2) are refused too.
    private static bool IsValidFieldName(string name)
    {
        if (name.Length == 0 || name is "connection" or "keep-alive" or "proxy-connection" or "transfer-encoding" or "upgrade" or "host")
        {
            return false;
        }
        foreach (char c in name)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.' or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '^' or '`' or '|' or '~'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsValidFieldValue(string value)
    {
        foreach (char c in value)
        {
            if (c is '\r' or '\n' or '\0' || c > 0x7E)
            {
                return false;
            }
        }
        return true;
    }

    private void OnHeaders(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        ReadOnlySequence<byte> fragment = Http2FrameReader.GetHeaderBlockFragment(header, payload, out bool selfDependent);
        lock (_sync)
        {
            if (!_streams.ContainsKey(header.StreamId))
            {
                ThrowIfIdleStream(header.StreamId, Http2FrameType.Headers);
            }
        }
        _headerEndStream = header.HasFlag(Http2Flags.EndStream);
        _headerSelfDependent = selfDependent;
        if (header.HasFlag(Http2Flags.EndHeaders) && fragment.IsSingleSegment)
        {
            // The common case: the whole block in one frame, decoded in place.
            OnHeaderBlock(header.StreamId, fragment.FirstSpan);
            return;
        }
        _headerBlockLength = 0;
        AppendHeaderFragment(header.StreamId, fragment);
        if (header.HasFlag(Http2Flags.EndHeaders))
        {
            OnHeaderBlock(header.StreamId, _headerBlock.AsSpan(0, _headerBlockLength));
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
            OnHeaderBlock(header.StreamId, _headerBlock.AsSpan(0, _headerBlockLength));
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

    /// <summary>A complete header block: always decoded (the HPACK table must stay in sync even for closed streams), then applied.</summary>
    private void OnHeaderBlock(int streamId, ReadOnlySpan<byte> block)
    {
        _responseSink.Reset();
        _hpack.Decode(block, _responseSink);
        lock (_sync)
        {
            if (!_streams.TryGetValue(streamId, out var stream))
            {
                return; // closed or reset already: ignore (RFC 9113 §5.1)
            }
            if (_headerSelfDependent)
            {
                throw new Http2StreamException(streamId, Http2ErrorCode.ProtocolError, "HEADERS frame makes the stream depend on itself");
            }
            OnStreamHeadersLocked(stream, _headerEndStream);
            FlushOutputLocked();
        }
    }

    private void OnStreamHeadersLocked(Http2ClientStream stream, bool endStream)
    {
        if (stream.ResponseReceived)
        {
            // Trailers: only allowed as the last frame (RFC 9113 §8.1).
            if (!endStream)
            {
                throw new Http2StreamException(stream.Id, Http2ErrorCode.ProtocolError, "a second HEADERS frame without END_STREAM");
            }
            OnRemoteEndLocked(stream);
            return;
        }
        if (_responseSink.Validate() is { } malformed)
        {
            throw new Http2StreamException(stream.Id, Http2ErrorCode.ProtocolError, $"malformed response headers: {malformed}");
        }
        int status = _responseSink.Status;
        if (status is >= 100 and < 200)
        {
            // Interim responses precede the final one (§8.1); 101 is not allowed in HTTP/2 (§8.6).
            if (status == 101 || endStream)
            {
                throw new Http2StreamException(stream.Id, Http2ErrorCode.ProtocolError, $"interim response {status} is not allowed here");
            }
            return;
        }
        stream.ResponseReceived = true;
        if (status == 200)
        {
            stream.CompleteResponse(null);
            if (endStream)
            {
                OnRemoteEndLocked(stream);
            }
            return;
        }
        var error = new HboneConnectException(status, stream.Authority);
        if (endStream)
        {
            stream.RemoteClosed = true;
        }
        // The tunnel is refused: close our side of the stream too.
        WriteRstStreamLocked(stream.Id, Http2ErrorCode.Cancel);
        stream.FailLocked(error);
        ReturnUnreadCreditLocked(stream);
        RemoveStreamLocked(stream);
    }
}
