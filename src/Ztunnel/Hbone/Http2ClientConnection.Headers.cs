using System.Buffers;
using System.Text;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Hbone;

// Opening CONNECT streams and applying their response headers (RFC 9113 §8.1, §8.5).
public sealed partial class Http2ClientConnection
{
    private readonly ResponseHeaderSink _responseSink = new();

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
        Http2Stream stream;
        bool writeHere;
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
            stream = new Http2Stream(this, id, authority, _peerInitialWindowSize, HboneDefaults.StreamWindow, server: false);
            _streams.Add(id, stream);
            // Stream ids must appear on the wire in increasing order (§5.1.1): allocate and write under one lock.
            Http2FrameWriter.WriteHeaders(_output, id, block, endStream: false, _peerMaxFrameSize);
            writeHere = PublishAndClaimLocked();
        }
        if (writeHere)
        {
            // Nobody was writing: send the HEADERS from here rather than waking the write loop.
            await WriteInlineAsync().ConfigureAwait(false);
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

    private protected override void OnHeadersFrame(int streamId)
    {
        lock (_sync)
        {
            if (!_streams.ContainsKey(streamId))
            {
                ThrowIfIdleStream(streamId, Http2FrameType.Headers);
            }
        }
    }

    /// <summary>A response header block: always decoded (the HPACK table must stay in sync even for closed streams), then applied.</summary>
    private protected override void OnHeaderBlock(int streamId, ReadOnlySpan<byte> block, bool endStream, bool selfDependent)
    {
        _responseSink.Reset();
        _hpack.Decode(block, _responseSink);
        lock (_sync)
        {
            if (!_streams.TryGetValue(streamId, out var stream))
            {
                return; // closed or reset already: ignore (RFC 9113 §5.1)
            }
            if (selfDependent)
            {
                throw new Http2StreamException(streamId, Http2ErrorCode.ProtocolError, "HEADERS frame makes the stream depend on itself");
            }
            OnStreamHeadersLocked(stream, endStream);
            FlushOutputLocked();
        }
    }

    private void OnStreamHeadersLocked(Http2Stream stream, bool endStream)
    {
        if (stream.HeadersReceived)
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
        stream.HeadersReceived = true;
        if (status == 200)
        {
            stream.ResponseOwed = true;
            MarkPublishPendingLocked(stream);
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
