namespace Ztunnel.Hbone;

// Ending streams: peer resets, stream errors we raise, and the application's Reset/Dispose. Every path
// fails the stream's pending reads and writes, hands unread data's credit back to the connection window,
// and forgets the stream (which after GOAWAY may close the connection).
public abstract partial class Http2Connection
{
    private void OnRstStream(int streamId, Http2ErrorCode code)
    {
        lock (_sync)
        {
            if (!_streams.TryGetValue(streamId, out var stream))
            {
                ThrowIfIdleStream(streamId, Http2FrameType.RstStream);
                return;
            }
            IOException error = code == Http2ErrorCode.RefusedStream
                ? new Http2StreamRefusedException($"HBONE CONNECT to {stream.Authority} was refused by the peer (RST_STREAM REFUSED_STREAM); it is safe to retry")
                : new IOException($"HBONE stream {streamId} to {stream.Authority} was reset by the peer (RST_STREAM {code})");
            Http2Log.StreamResetByPeer(_logger, streamId, code);
            stream.FailLocked(error);
            ReturnUnreadCreditLocked(stream);
            RemoveStreamLocked(stream);
            OnPeerResetLocked(stream);
            FlushOutputLocked();
        }
    }

    /// <summary>The peer reset an open stream (the server counts these against rapid reset, CVE-2023-44487).</summary>
    private protected virtual void OnPeerResetLocked(Http2Stream stream)
    {
    }

    /// <summary>Stream error (RFC 9113 §5.4.2): RST_STREAM to the peer, the stream fails locally.</summary>
    private protected void ResetStream(int streamId, Http2ErrorCode code, Exception reason)
    {
        lock (_sync)
        {
            WriteRstStreamLocked(streamId, code);
            if (_streams.TryGetValue(streamId, out var stream))
            {
                stream.FailLocked(reason as IOException ?? new IOException(reason.Message, reason));
                ReturnUnreadCreditLocked(stream);
                RemoveStreamLocked(stream);
            }
            FlushOutputLocked();
        }
    }

    /// <summary>The application reset the stream: RST_STREAM CANCEL, pending reads and writes fail.</summary>
    /// <summary>See <see cref="TunnelStream.ResetAlongWith"/>: under the lock, so a failure racing with it is never missed.</summary>
    internal void ResetAlongWith(Http2Stream stream, TunnelStream partner)
    {
        lock (_sync)
        {
            stream.ResetAlongWithLocked(partner);
        }
    }

    internal void ResetStreamLocally(Http2Stream stream)
    {
        lock (_sync)
        {
            if (stream.Failed || (stream.LocalClosed && stream.RemoteClosed))
            {
                return;
            }
            WriteRstStreamLocked(stream.Id, Http2ErrorCode.Cancel);
            stream.FailLocked(new IOException($"HBONE stream {stream.Id} to {stream.Authority} was reset locally"));
            ReturnUnreadCreditLocked(stream);
            RemoveStreamLocked(stream);
            FlushOutputLocked();
        }
    }

    /// <summary>The application disposed the stream: reset it unless it closed both ways; return unread credit.</summary>
    internal void ReleaseStream(Http2Stream stream)
    {
        lock (_sync)
        {
            if (!stream.Failed && !(stream.LocalClosed && stream.RemoteClosed))
            {
                WriteRstStreamLocked(stream.Id, Http2ErrorCode.Cancel);
                stream.FailLocked(new ObjectDisposedException(nameof(TunnelStream), $"HBONE stream {stream.Id} to {stream.Authority} was disposed"));
            }
            ReturnUnreadCreditLocked(stream);
            RemoveStreamLocked(stream);
            FlushOutputLocked();
        }
    }
}
