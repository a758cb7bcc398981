using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Security.Authentication;
using Ztunnel.Hbone.Hpack;
using Ztunnel.Sockets;
using Ztunnel.Tls.Native;

namespace Ztunnel.Hbone;

// The read loop: parses frames and applies them. It never awaits anything but the transport: DATA is sent
// straight to the stream's sink (the relay's socket) when it takes it at once, else copied into the stream's own
// buffer; replies (ACKs, WINDOW_UPDATE, RST_STREAM) go to the output pipe.
public abstract partial class Http2Connection
{
    private protected volatile bool _peerSettingsSeen;

    /// <summary>Streams with delivered but unpublished DATA or end (read loop only).</summary>
    private readonly List<Http2Stream> _publishPending = [];

    /// <summary>Work the batch of frames started (a server's new streams), run after the batch (read loop only).</summary>
    private readonly List<IThreadPoolWorkItem> _startPending = [];

    /// <summary>Set by every received frame, cleared by the keepalive tick: received traffic proves the peer alive.</summary>
    private volatile bool _receivedSinceTick;

    /// <summary>The read loop waits between messages, holding no buffer: the poller's handler may read for it (ImmediateRead).</summary>
    private volatile bool _readLoopParked;

    /// <summary>What the poller's handler met while reading for the loop: the loop throws it when it wakes.</summary>
    private Exception? _immediateReadFailure;

    private async Task ReadLoopAsync()
    {
        Exception reason;
        Http2ErrorCode? goAwayCode = null;
        try
        {
            while (true)
            {
                if (_input.ReleaseIfDrained())
                {
                    // Between messages: wait for the next bytes without a buffer, so an idle connection holds none. On
                    // NativeTlsStream this wait costs what the read's own wait did (no syscall after a drained read).
                    _readLoopParked = true;
                    try
                    {
                        await _transport.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
                    }
                    finally
                    {
                        _readLoopParked = false;
                    }
                    if (Interlocked.Exchange(ref _immediateReadFailure, null) is { } failure)
                    {
                        ExceptionDispatchInfo.Throw(failure);
                    }
                }
                int read = await _transport.ReadAsync(_input.GetReadMemory()).ConfigureAwait(false);
                if (read == 0)
                {
                    long leftOver = _input.Data.Length;
                    throw new IOException(leftOver == 0
                        ? "HTTP/2 peer closed the connection"
                        : $"HTTP/2 peer closed the connection in the middle of a frame ({leftOver} bytes left over)");
                }
                ProcessInput(read);
            }
        }
        catch (Http2ConnectionException e)
        {
            reason = e;
            goAwayCode = e.ErrorCode;
            Http2Log.ConnectionError(_logger, e.ErrorCode, e.Message);
        }
        catch (HpackException e)
        {
            // The dynamic table may be half updated: nothing decodes reliably after this (RFC 9113 §4.3).
            reason = new Http2ConnectionException(Http2ErrorCode.CompressionError, $"bad header block: {e.Message}");
            goAwayCode = Http2ErrorCode.CompressionError;
            Http2Log.ConnectionError(_logger, Http2ErrorCode.CompressionError, e.Message);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or AuthenticationException or OperationCanceledException or InvalidOperationException)
        {
            reason = e is IOException ? e : new IOException($"HTTP/2 connection read failed: {e.Message}", e);
        }
        catch (Exception e)
        {
            reason = new IOException($"HTTP/2 internal error: {e.Message}", e);
            goAwayCode = Http2ErrorCode.InternalError;
            Http2Log.InternalError(_logger, e);
        }
        Abort(reason, goAwayCode);
        ReturnHeaderBuffer();
        if (goAwayCode is not null)
        {
            await DiscardInputAsync().ConfigureAwait(false);
        }
        _input.Dispose();
    }

    /// <summary>Parses and applies the frames that <paramref name="read"/> more bytes of input complete.</summary>
    private void ProcessInput(int read)
    {
        _input.Advance(read);
        ReadOnlySequence<byte> buffer = _input.Data;
        try
        {
            while (TryConsumePreface(ref buffer) && Http2FrameReader.TryReadFrame(ref buffer, HboneDefaults.MaxFrameSize, out var header, out var payload))
            {
                ProcessFrame(header, payload);
            }
        }
        finally
        {
            // Also when a frame broke the connection: a stream that ended earlier in the batch and is no
            // longer tracked (so the abort does not fail it) must still wake its reader.
            PublishReceived();
            _input.Consume(buffer.Start);
        }
    }

    /// <summary>
    /// The poller's thread, at the transport socket's readable event, while the read loop waits between messages
    /// (<see cref="_readLoopParked"/>): reads and applies what came, as the loop would, without waking it. A message's
    /// DATA then goes to the app's socket from the event itself. True when everything received is applied and the
    /// socket is drained (the loop may go on waiting); false leaves the rest to the loop: more data, part of a
    /// frame, the end of the stream, or a failure (kept for the loop to throw).
    /// </summary>
    private bool TryReadNow(NativeTlsStream tls)
    {
        if (!_readLoopParked || Volatile.Read(ref _immediateReadFailure) is not null)
        {
            return false;
        }
        try
        {
            Memory<byte> room = _input.GetReadMemory();
            int read = tls.TryReadNow(room.Span);
            if (read < 0)
            {
                _input.ReleaseIfDrained();
                return true; // nothing yet (an event for bytes read already): go on waiting
            }
            if (read == 0)
            {
                _input.ReleaseIfDrained();
                return false; // the end: the loop's to report
            }
            ProcessInput(read);
            // Drained: no frame half read, no whole record left behind (the read came short), and the last receive
            // emptied the socket with no event since (edge-triggered: none would come for what is still there).
            return _input.ReleaseIfDrained() && read < room.Length && !tls.Polled.ReadMayFindData;
        }
        catch (Exception e)
        {
            _immediateReadFailure = e;
            return false;
        }
    }

    /// <summary>Installs the read handler on a native TLS transport's socket, where the daemon runs continuations on the poller.</summary>
    private protected void StartImmediateReads()
    {
        if (_transport is NativeTlsStream tls && SocketPoller.Shared.InlineCompletions)
        {
            tls.Polled.ReadableHandler = new ImmediateRead(this, tls);
        }
    }

    private sealed class ImmediateRead(Http2Connection connection, NativeTlsStream tls) : IReadinessHandler
    {
        public bool TryHandle() => connection.TryReadNow(tls);
    }

    /// <summary>
    /// After a connection error, while our GOAWAY goes out: keep reading and discarding until the peer
    /// closes or the transport is disposed. A peer still writing (a flood) would otherwise block on a full
    /// socket while we block writing to it, and our close would turn into an RST that loses the GOAWAY.
    /// </summary>
    private async Task DiscardInputAsync()
    {
        try
        {
            // Read into the input buffer's free room and never commit it: what arrives is dropped as it comes.
            while (await _transport.ReadAsync(_input.GetReadMemory()).ConfigureAwait(false) != 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or AuthenticationException or OperationCanceledException or InvalidOperationException)
        {
        }
    }

    /// <summary>
    /// The server first consumes the client's 24-byte connection preface (RFC 9113 §3.4); false while it is
    /// incomplete. A client reads frames from the first byte.
    /// </summary>
    private protected virtual bool TryConsumePreface(ref ReadOnlySequence<byte> buffer) => true;

    private void ProcessFrame(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        _receivedSinceTick = true;
        if (_closed)
        {
            // Closed (GOAWAY sent, lingering until the peer closes): what still arrives is discarded.
            return;
        }
        if (_continuationStreamId != 0 && header.Type != Http2FrameType.Continuation)
        {
            // A header block is one unit: nothing may interleave with it (RFC 9113 §6.10).
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                $"{header.Type} frame on stream {header.StreamId} while the header block of stream {_continuationStreamId} awaits CONTINUATION");
        }
        if (!_peerSettingsSeen && header.Type != Http2FrameType.Settings)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                $"the peer's connection preface must start with SETTINGS, got {header.Type} (RFC 9113 §3.4)");
        }
        try
        {
            Http2FrameReader.ValidateStreamAndSize(header);
            switch (header.Type)
            {
                case Http2FrameType.Data:
                    OnData(header, payload);
                    break;
                case Http2FrameType.Headers:
                    OnHeaders(header, payload);
                    break;
                case Http2FrameType.Continuation:
                    OnContinuation(header, payload);
                    break;
                case Http2FrameType.RstStream:
                    OnRstStream(header.StreamId, (Http2ErrorCode)Http2FrameReader.ReadUInt32(payload));
                    break;
                case Http2FrameType.Settings:
                    OnSettings(header, payload);
                    break;
                case Http2FrameType.Ping:
                    OnPing(header, Http2FrameReader.ReadUInt64(payload));
                    break;
                case Http2FrameType.GoAway:
                    OnGoAway((int)(Http2FrameReader.ReadUInt32(payload) & 0x7FFF_FFFF), (Http2ErrorCode)Http2FrameReader.ReadUInt32(payload.Slice(4)));
                    break;
                case Http2FrameType.WindowUpdate:
                    lock (_sync)
                    {
                        OnWindowUpdateLocked(header.StreamId, Http2FrameReader.ReadWindowIncrement(payload));
                    }
                    break;
                case Http2FrameType.PushPromise:
                    // We sent SETTINGS_ENABLE_PUSH=0 (RFC 9113 §8.4).
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"PUSH_PROMISE on stream {header.StreamId}, but push is disabled");
                case Http2FrameType.Priority:
                    break; // Deprecated signal (RFC 9113 §5.3.2): validated above, otherwise ignored.
                default:
                    break; // Unknown frame types are ignored (RFC 9113 §4.1, §5.5).
            }
        }
        catch (Http2StreamException e)
        {
            ResetStream(e.StreamId, e.ErrorCode, e);
        }
    }

    /// <summary>
    /// A frame other than HEADERS named a stream that is not open. If the stream was never opened (idle)
    /// that is a connection PROTOCOL_ERROR (RFC 9113 §5.1); a closed stream's late frames are ignored.
    /// </summary>
    private protected abstract void ThrowIfIdleStream(int streamId, Http2FrameType type);

    private void OnData(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        // Padding and the pad-length octet count against flow control (RFC 9113 §6.1).
        int flowLength = header.PayloadLength;
        ReadOnlySequence<byte> data = Http2FrameReader.RemovePadding(header, payload);
        if (AcceptData(header, flowLength, data) is { } direct)
        {
            SendDirect(direct.Stream, direct.Sink, data);
        }
    }

    /// <summary>
    /// Checks DATA against the windows and the stream's state and delivers it to the stream's receive buffer, or, when
    /// the stream has a direct sink and nothing older waits in the buffer, returns the sink for the caller to send the
    /// bytes to outside the lock (counted as buffered until then).
    /// </summary>
    private (Http2Stream Stream, IReceivedDataSink Sink)? AcceptData(in Http2FrameHeader header, int flowLength, in ReadOnlySequence<byte> data)
    {
        lock (_sync)
        {
            if (flowLength > _connectionReceiveWindow)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError,
                    $"DATA of {flowLength} bytes on stream {header.StreamId} exceeds the connection receive window {_connectionReceiveWindow}");
            }
            _connectionReceiveWindow -= flowLength;
            if (!_streams.TryGetValue(header.StreamId, out var stream))
            {
                ThrowIfIdleStream(header.StreamId, Http2FrameType.Data);
                // A closed (e.g. reset) stream: nobody will read this, but the peer spent connection credit on it.
                ReturnConnectionCreditLocked(flowLength);
                FlushOutputLocked();
                return null;
            }
            if (stream.RemoteClosed || !stream.HeadersReceived)
            {
                ReturnConnectionCreditLocked(flowLength);
                throw new Http2StreamException(header.StreamId, stream.RemoteClosed ? Http2ErrorCode.StreamClosed : Http2ErrorCode.ProtocolError,
                    stream.RemoteClosed ? "DATA after END_STREAM" : "DATA before the response HEADERS");
            }
            if (flowLength > stream.ReceiveWindow)
            {
                ReturnConnectionCreditLocked(flowLength);
                throw new Http2StreamException(header.StreamId, Http2ErrorCode.FlowControlError,
                    $"DATA of {flowLength} bytes exceeds the stream receive window {stream.ReceiveWindow}");
            }
            stream.ReceiveWindow -= flowLength;
            int padding = flowLength - (int)data.Length;
            if (padding > 0)
            {
                // Padding is never read by anyone: credit it back at once.
                ReturnStreamCreditLocked(stream, padding);
                ReturnConnectionCreditLocked(padding);
            }
            bool endStream = header.HasFlag(Http2Flags.EndStream);
            if (!endStream && !data.IsEmpty && data.Length <= DirectSendLimit && _directSendsInBatch < MaxDirectSendsPerBatch
                && stream.DirectSinkLocked() is { } sink)
            {
                _directSendsInBatch++;
                stream.ReceiveBuffered += (int)data.Length;
                FlushOutputLocked();
                return (stream, sink);
            }
            stream.DeliverLocked(data);
            if (!data.IsEmpty)
            {
                MarkPublishPendingLocked(stream);
            }
            if (endStream)
            {
                OnRemoteEndLocked(stream);
            }
            FlushOutputLocked();
            return null;
        }
    }

    /// <summary>
    /// Sends DATA straight from the input buffer to the stream's sink (the app's socket): no copy into the receive
    /// buffer and no wake-up of the stream's reader when the sink takes it all, as it usually does. Outside the lock:
    /// the send may take a while (on a local socket the kernel delivers to the app inside it) and the connection's
    /// writers must not wait for it. Nothing else touches the stream's receive side meanwhile: only this loop writes
    /// it, and the reader finds the buffer empty. What the sink does not take goes into the buffer for the reader.
    /// </summary>
    private void SendDirect(Http2Stream stream, IReceivedDataSink sink, in ReadOnlySequence<byte> data)
    {
        int sent = sink.TrySend(data);
        if (sent > 0)
        {
            OnDataConsumed(stream, sent);
        }
        if (sent < data.Length)
        {
            lock (_sync)
            {
                stream.DeliverBufferedLocked(data.Slice(sent));
                MarkPublishPendingLocked(stream);
            }
        }
    }

    /// <summary>Wakes the readers of every stream that got DATA in the batch of frames just processed.</summary>
    /// <summary>
    /// Unread bytes up to which a stream's reader runs on the read loop (<see cref="ReadLoopScheduler"/>):
    /// requests, responses and connection set-up. Above it (bulk transfer) the reader is handed to a pool
    /// worker so the read loop goes on reading while it copies: measured in make bench, inline readers cut
    /// CPU per new connection by ~7% but cost bulk transfers ~5% more CPU per GB.
    /// </summary>
    private const int InlineReadLimit = 16 * 1024;

    /// <summary>
    /// Largest DATA payload sent straight to a stream's sink (<see cref="SendDirect"/>). Bigger frames are bulk transfer,
    /// where the hand-off to the relay is cheaper: measured in make bench, direct sends of every frame cost 1-stream
    /// throughput ~10% (one send per 64 KiB frame on the read loop, against the relay's sends of up to 256 KiB).
    /// </summary>
    private const int DirectSendLimit = InlineReadLimit;

    /// <summary>
    /// Direct sends per batch of frames, at most: a peer sending many tiny frames must not cost a syscall each. The
    /// rest of the batch goes through the streams' buffers, whose readers send it in one go after the batch.
    /// </summary>
    private const int MaxDirectSendsPerBatch = 4;

    /// <summary>Direct sends made in the current batch (read loop only).</summary>
    private int _directSendsInBatch;

    /// <summary>
    /// Runs <paramref name="work"/> on the read loop once the current batch of frames is processed, outside the
    /// connection lock (read loop only). Cheaper than a pool worker by a hand-off (a wake-up and a context switch);
    /// the work must not block: it returns to the read loop at its first await.
    /// </summary>
    private protected void RunAfterBatch(IThreadPoolWorkItem work) => _startPending.Add(work);

    /// <summary>The stream has news for its reader or opener, handed over when the batch of frames is published.</summary>
    private protected void MarkPublishPendingLocked(Http2Stream stream)
    {
        if (!stream.PublishPending)
        {
            stream.PublishPending = true;
            _publishPending.Add(stream);
        }
    }

    private void PublishReceived()
    {
        _directSendsInBatch = 0;
        if (_publishPending.Count > 0)
        {
            PublishStreams();
        }
        if (_startPending.Count > 0)
        {
            // Not inside ReadLoopScheduler.RunInline: what the work wakes in turn (under the lock, say) goes to the pool.
            try
            {
                foreach (var work in _startPending)
                {
                    work.Execute();
                }
            }
            finally
            {
                _startPending.Clear();
            }
        }
    }

    private void PublishStreams()
    {
        lock (_sync)
        {
            foreach (var stream in _publishPending)
            {
                stream.PublishPending = false;
                stream.PublishInline = stream.ReceiveBuffered <= InlineReadLimit;
            }
        }
        // Outside the lock: an inline reader takes the lock itself to return flow-control credit.
        foreach (var stream in _publishPending)
        {
            if (stream.PublishInline)
            {
                ReadLoopScheduler.RunInline(static s => s.PublishReceived(), stream);
            }
            else
            {
                stream.PublishReceived();
            }
            if (stream.ResponseOwed)
            {
                // Outside RunInline: the opener goes on to start its relay, whose own wake-ups go to the pool.
                stream.ReleaseResponse();
            }
        }
        _publishPending.Clear();
    }

    /// <summary>
    /// END_STREAM (read loop only). The reader is woken when the batch is published, like a reader of DATA: a small
    /// remainder's reader then runs on the read loop, so closing a relayed connection costs no pool hand-off.
    /// </summary>
    private protected void OnRemoteEndLocked(Http2Stream stream)
    {
        stream.RemoteClosed = true;
        stream.EndReceiveAtNextPublishLocked();
        MarkPublishPendingLocked(stream);
        if (stream.LocalClosed)
        {
            RemoveStreamLocked(stream);
        }
    }

    /// <summary>True on the client side (settings validation differs by direction, RFC 9113 §6.5.2).</summary>
    private protected abstract bool IsClient { get; }
}
