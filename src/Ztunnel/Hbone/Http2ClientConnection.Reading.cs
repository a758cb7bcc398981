using System.Buffers;
using System.IO.Pipelines;
using System.Security.Authentication;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Hbone;

// The read loop: parses frames and applies them. It never awaits anything but the transport: DATA is
// copied into the stream's own buffer, replies (ACKs, WINDOW_UPDATE, RST_STREAM) go to the output pipe.
public sealed partial class Http2ClientConnection
{
    private bool _peerSettingsSeen;

    /// <summary>Streams with delivered but unpublished DATA (read loop only).</summary>
    private readonly List<Http2ClientStream> _publishPending = [];

    /// <summary>Set by every received frame, cleared by the keepalive tick: received traffic proves the peer alive.</summary>
    private volatile bool _receivedSinceTick;

    private async Task ReadLoopAsync()
    {
        Exception reason;
        Http2ErrorCode? goAwayCode = null;
        try
        {
            while (true)
            {
                ReadResult result = await _input.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                try
                {
                    while (Http2FrameReader.TryReadFrame(ref buffer, HboneDefaults.MaxFrameSize, out var header, out var payload))
                    {
                        ProcessFrame(header, payload);
                    }
                    PublishReceived();
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }
                if (result.IsCompleted)
                {
                    throw new IOException(buffer.IsEmpty
                        ? "HTTP/2 peer closed the connection"
                        : $"HTTP/2 peer closed the connection in the middle of a frame ({buffer.Length} bytes left over)");
                }
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
            reason = new IOException($"HTTP/2 client internal error: {e.Message}", e);
            goAwayCode = Http2ErrorCode.InternalError;
            Http2Log.InternalError(_logger, e);
        }
        Abort(reason, goAwayCode);
        await _input.CompleteAsync().ConfigureAwait(false);
        ReturnHeaderBuffer();
    }

    private void ProcessFrame(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        _receivedSinceTick = true;
        if (_continuationStreamId != 0 && header.Type != Http2FrameType.Continuation)
        {
            // A header block is one unit: nothing may interleave with it (RFC 9113 §6.10).
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                $"{header.Type} frame on stream {header.StreamId} while the header block of stream {_continuationStreamId} awaits CONTINUATION");
        }
        if (!_peerSettingsSeen && header.Type != Http2FrameType.Settings)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                $"the server preface must start with SETTINGS, got {header.Type} (RFC 9113 §3.4)");
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

    /// <summary>Streams are idle until we open them; the peer cannot open any (push is off). Frames on an idle stream are PROTOCOL_ERROR (§5.1).</summary>
    private void ThrowIfIdleStream(int streamId, Http2FrameType type)
    {
        if ((streamId & 1) == 0 || streamId >= _nextStreamId)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{type} frame on stream {streamId}, which we never opened");
        }
    }

    private void OnData(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        // Padding and the pad-length octet count against flow control (RFC 9113 §6.1).
        int flowLength = header.PayloadLength;
        ReadOnlySequence<byte> data = Http2FrameReader.RemovePadding(header, payload);
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
                return;
            }
            if (stream.RemoteClosed || !stream.ResponseReceived)
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
            stream.DeliverLocked(data);
            if (!stream.PublishPending && !data.IsEmpty)
            {
                stream.PublishPending = true;
                _publishPending.Add(stream);
            }
            if (header.HasFlag(Http2Flags.EndStream))
            {
                OnRemoteEndLocked(stream);
            }
            FlushOutputLocked();
        }
    }

    /// <summary>Wakes the readers of every stream that got DATA in the batch of frames just processed.</summary>
    private void PublishReceived()
    {
        if (_publishPending.Count == 0)
        {
            return;
        }
        lock (_sync)
        {
            foreach (var stream in _publishPending)
            {
                stream.PublishReceivedLocked();
            }
            _publishPending.Clear();
        }
    }

    private void OnRemoteEndLocked(Http2ClientStream stream)
    {
        stream.RemoteClosed = true;
        stream.CompleteReceiveLocked(null);
        if (stream.LocalClosed)
        {
            RemoveStreamLocked(stream);
        }
    }

    private void OnSettings(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.HasFlag(Http2Flags.Ack))
        {
            return;
        }
        lock (_sync)
        {
            int count = header.PayloadLength / 6;
            for (int i = 0; i < count; i++)
            {
                Http2Setting setting = Http2FrameReader.ReadSetting(payload, i);
                Http2FrameReader.ValidateSetting(setting);
                switch (setting.Id)
                {
                    case Http2SettingId.MaxConcurrentStreams:
                        _peerMaxConcurrentStreams = (int)Math.Min(setting.Value, int.MaxValue);
                        break;
                    case Http2SettingId.InitialWindowSize:
                        ApplyInitialWindowSizeLocked((int)setting.Value);
                        break;
                    case Http2SettingId.MaxFrameSize:
                        _peerMaxFrameSize = (int)setting.Value;
                        break;
                    default:
                        // HEADER_TABLE_SIZE: our encoder never indexes. MAX_HEADER_LIST_SIZE: advisory. Unknown: ignored.
                        break;
                }
            }
            ThrowIfControlFloodLocked();
            Http2FrameWriter.WriteSettingsAck(_output);
            FlushOutputLocked();
        }
        _peerSettingsSeen = true;
        _peerSettingsReceived.TrySetResult();
    }

    private void OnPing(in Http2FrameHeader header, ulong opaque)
    {
        lock (_sync)
        {
            if (header.HasFlag(Http2Flags.Ack))
            {
                OnPingAckLocked(opaque);
                return;
            }
            ThrowIfControlFloodLocked();
            Http2FrameWriter.WritePing(_output, opaque, ack: true);
            FlushOutputLocked();
        }
    }

    /// <summary>
    /// GOAWAY (RFC 9113 §6.8): no new streams here. Streams above last-stream-id were never processed and
    /// fail as retryable; the others finish, and the connection closes after the last one.
    /// </summary>
    private void OnGoAway(int lastStreamId, Http2ErrorCode code)
    {
        Http2Log.GoAwayReceived(_logger, lastStreamId, code);
        lock (_sync)
        {
            _goAwayReceived = true;
            _peerLastStreamId = Math.Min(_peerLastStreamId, lastStreamId);
            List<Http2ClientStream>? refused = null;
            foreach (var stream in _streams.Values)
            {
                if (stream.Id > _peerLastStreamId)
                {
                    (refused ??= []).Add(stream);
                }
            }
            if (refused is not null)
            {
                foreach (var stream in refused)
                {
                    stream.FailLocked(new Http2StreamRefusedException(
                        $"HBONE CONNECT to {stream.Authority} was not processed: the peer sent GOAWAY ({code}) with last stream {lastStreamId}; it is safe to retry"));
                    ReturnUnreadCreditLocked(stream);
                    RemoveStreamLocked(stream);
                }
            }
            CloseIfDrainedLocked();
        }
    }
}
