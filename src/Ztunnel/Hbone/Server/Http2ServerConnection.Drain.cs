namespace Ztunnel.Hbone.Server;

// Graceful drain in two steps (RFC 9113 §6.8): the first GOAWAY carries the largest stream id, so the
// client opens no more streams but none it already sent is refused; a PING round trip later every stream
// the client sent before seeing that GOAWAY has arrived, and the final GOAWAY names the last one we serve.
// The connection closes once that one and all before it have ended.
internal sealed partial class Http2ServerConnection
{
    /// <summary>The drain PING's opaque data ("HBONEGWA"); keepalive PINGs count up from 1.</summary>
    private const ulong DrainPingPayload = 0x48424F4E45475741;

    /// <summary>First GOAWAY sent, its PING not yet answered: streams still arriving are served (under _sync).</summary>
    private bool _drainPingOutstanding;

    private protected override void WriteShutdownGoAwayLocked(ReadOnlySpan<byte> why)
    {
        Http2FrameWriter.WriteGoAway(_output, MaxStreamId, Http2ErrorCode.NoError, why);
        _goAwaySent = true;
        Http2FrameWriter.WritePing(_output, DrainPingPayload, ack: false);
        _drainPingOutstanding = true;
    }

    private protected override bool ShutdownPendingLocked => _drainPingOutstanding;

    private protected override void OnPingAckLocked(ulong opaque)
    {
        if (opaque != DrainPingPayload || !_drainPingOutstanding)
        {
            base.OnPingAckLocked(opaque);
            return;
        }
        _drainPingOutstanding = false;
        // The final GOAWAY: its last-stream-id is the last stream the client opened (GoAwayLastStreamIdLocked).
        WriteGoAwayLocked(Http2ErrorCode.NoError, "shutting down"u8);
        FlushOutputLocked();
        CloseIfDrainedLocked();
    }
}
