namespace Ztunnel.Hbone.Server;

// Accepting client streams: stream id rules (RFC 9113 §5.1.1), request validation (§8.3, §8.5), the
// concurrency limit (§5.1.2) and the rapid-reset budget (CVE-2023-44487).
internal sealed partial class Http2ServerConnection
{
    /// <summary>
    /// Streams the client may reset, or make us refuse or reject as malformed, in a burst. Each costs us a
    /// header decode and (for resets) a started session; a client that does this far faster than streams
    /// could do useful work is attacking (rapid reset) and gets GOAWAY ENHANCE_YOUR_CALM.
    /// </summary>
    private const double ResetBudgetCapacity = 4 * HboneDefaults.MaxStreamsPerConnection;

    /// <summary>Budget regained per second: a steady rate of aborted tunnels a busy, honest client can reach.</summary>
    private const double ResetBudgetPerSecond = 2 * HboneDefaults.MaxStreamsPerConnection;

    private readonly RequestHeaderSink _requestSink = new();
    private int _lastClientStreamId;
    private bool _headersOpenNewStream;
    private double _resetBudget;
    private long _resetBudgetTimestamp;

    /// <summary>A HEADERS frame: an open stream's trailers, a late frame of a closed stream, or a new stream (§5.1.1).</summary>
    private protected override void OnHeadersFrame(int streamId)
    {
        lock (_sync)
        {
            _headersOpenNewStream = false;
            if (_streams.ContainsKey(streamId))
            {
                return;
            }
            if ((streamId & 1) == 0)
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"HEADERS on stream {streamId}: a client opens odd-numbered streams only (RFC 9113 §5.1.1)");
            }
            if (streamId <= _lastClientStreamId)
            {
                // New streams must come in increasing order (§5.1.1), and HBONE clients send no trailers, so
                // HEADERS on a lower id that is not open is a stream reused or out of order.
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                    $"HEADERS on stream {streamId}, not above the last stream the client opened ({_lastClientStreamId}) (RFC 9113 §5.1.1)");
            }
            // Opening a stream implicitly closes every lower idle one (§5.1.1).
            _lastClientStreamId = streamId;
            _headersOpenNewStream = true;
        }
    }

    /// <summary>A request header block: decoded always, then the stream is opened, refused or reset.</summary>
    private protected override void OnHeaderBlock(int streamId, ReadOnlySpan<byte> block, bool endStream, bool selfDependent)
    {
        _requestSink.Reset();
        _hpack.Decode(block, _requestSink);
        Http2Stream stream;
        lock (_sync)
        {
            if (_streams.TryGetValue(streamId, out var open))
            {
                // Trailers: the request body's end; they must carry END_STREAM (§8.1).
                if (!endStream)
                {
                    throw new Http2StreamException(streamId, Http2ErrorCode.ProtocolError, "a second HEADERS frame without END_STREAM");
                }
                OnRemoteEndLocked(open);
                FlushOutputLocked();
                return;
            }
            if (!_headersOpenNewStream || _closed)
            {
                return; // the connection closed while the block was decoded
            }
            if (selfDependent)
            {
                ChargeResetBudgetLocked();
                throw new Http2StreamException(streamId, Http2ErrorCode.ProtocolError, "HEADERS frame makes the stream depend on itself");
            }
            if (_requestSink.Validate() is { } malformed)
            {
                // Malformed request: stream error PROTOCOL_ERROR (§8.1.1).
                ChargeResetBudgetLocked();
                throw new Http2StreamException(streamId, Http2ErrorCode.ProtocolError, $"malformed request: {malformed}");
            }
            if ((_shuttingDown && !_drainPingOutstanding) || _streams.Count >= HboneDefaults.MaxStreamsPerConnection)
            {
                // Above our SETTINGS_MAX_CONCURRENT_STREAMS (§5.1.2), or after our final GOAWAY: REFUSED_STREAM
                // tells the client nothing was processed and a retry is safe (§8.7).
                ChargeResetBudgetLocked();
                WriteRstStreamLocked(streamId, Http2ErrorCode.RefusedStream);
                FlushOutputLocked();
                return;
            }
            stream = new Http2Stream(this, streamId, _requestSink.Authority ?? "", _peerInitialWindowSize, HboneDefaults.StreamWindow, server: true);
            _streams.Add(streamId, stream);
            if (endStream)
            {
                OnRemoteEndLocked(stream);
            }
        }
        var request = new HboneRequestHeaders(_requestSink.Method!, _requestSink.Authority, _requestSink.Forwarded, _requestSink.Baggage, _requestSink.TraceParent);
        // After this batch of frames, on the read loop: the handler authorizes and starts connecting to the app
        // (non-blocking), then the read loop goes on while the connection completes. A pool worker here cost a
        // hand-off per stream (make bench: context switches and CPU per new connection).
        RunAfterBatch(new StreamWork(this, stream, request));
    }

    /// <summary>
    /// Rapid reset (CVE-2023-44487): a client resetting streams it just opened, before we could answer,
    /// costs us a decode and a started handler for nothing. Resetting an established tunnel (an aborted
    /// TCP connection) is ordinary traffic and is not counted.
    /// </summary>
    private protected override void OnPeerResetLocked(Http2Stream stream)
    {
        if (!stream.ResponseSent)
        {
            ChargeResetBudgetLocked();
        }
    }

    private void ChargeResetBudgetLocked()
    {
        long now = _time.GetTimestamp();
        _resetBudget = Math.Min(ResetBudgetCapacity, _resetBudget + (_time.GetElapsedTime(_resetBudgetTimestamp, now).TotalSeconds * ResetBudgetPerSecond));
        _resetBudgetTimestamp = now;
        _resetBudget -= 1;
        if (_resetBudget < 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm,
                $"the client reset, or made us refuse, streams faster than {ResetBudgetPerSecond} per second (rapid reset)");
        }
    }

    /// <summary>Runs one request's handler on the thread pool.</summary>
    private sealed class StreamWork(Http2ServerConnection connection, Http2Stream stream, HboneRequestHeaders request) : IThreadPoolWorkItem
    {
        public void Execute() => _ = connection._handler.HandleAsync(connection, stream, request);
    }
}
