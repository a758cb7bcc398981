namespace Ztunnel.Hbone;

// Keepalive (DESIGN §4): when nothing has arrived for a PING interval, send a PING; if its ACK has not
// come back within the PING timeout, the peer or the path is dead: GOAWAY and close, failing the streams
// so the proxy releases their TCP connections instead of holding them forever.
public abstract partial class Http2Connection
{
    private bool _pingOutstanding;
    private ulong _pingPayload;
    private long _pingSentTimestamp;

    private void OnPingTimer()
    {
        bool timedOut = false;
        lock (_sync)
        {
            if (_closed)
            {
                return;
            }
            long now = _time.GetTimestamp();
            OnKeepaliveTickLocked(now);
            if (_closed)
            {
                return;
            }
            if (_pingOutstanding)
            {
                timedOut = _time.GetElapsedTime(_pingSentTimestamp, now) >= HboneDefaults.PingTimeout;
            }
            else if (_receivedSinceTick)
            {
                _receivedSinceTick = false;
            }
            else
            {
                _pingOutstanding = true;
                _pingSentTimestamp = now;
                Http2FrameWriter.WritePing(_output, ++_pingPayload, ack: false);
                FlushOutputLocked();
            }
        }
        if (timedOut)
        {
            Http2Log.PingTimeout(_logger, HboneDefaults.PingTimeout);
            Abort(new IOException($"HTTP/2 peer did not answer a PING within {HboneDefaults.PingTimeout.TotalSeconds:0} s; connection closed"), Http2ErrorCode.NoError);
        }
    }

    private protected virtual void OnPingAckLocked(ulong opaque)
    {
        if (_pingOutstanding && opaque == _pingPayload)
        {
            _pingOutstanding = false;
        }
    }

    /// <summary>Each keepalive tick, under the lock (the server closes connections idle too long here).</summary>
    private protected virtual void OnKeepaliveTickLocked(long now)
    {
    }
}
