using System.IO.Pipelines;

namespace Ztunnel.Hbone;

// Output: every frame is serialised under _sync straight into an unbounded in-memory pipe (a memcpy,
// never a network wait); one writer at a time drains the pipe to the transport (Http2Connection.WriteLoop.cs).
// Frames queued while it is busy go out together on its next pass (coalescing). DATA writers respect a
// high-water mark on the queued bytes, so a slow network pushes back on them instead of growing the queue.
public abstract partial class Http2Connection
{
    /// <summary>Queued-but-unsent bytes above which DATA writers wait for the write loop.</summary>
    private const int OutputHighWater = 1024 * 1024;

    /// <summary>
    /// Queued bytes above which the peer is making us queue control frames (PING/SETTINGS ACKs) faster than
    /// it reads them: a flood, answered with ENHANCE_YOUR_CALM.
    /// </summary>
    private const int ControlFloodLimit = 8 * OutputHighWater;

    /// <summary>Most bytes the write loop hands the transport before it lets waiting writers refill.</summary>
    /// <remarks>
    /// The relay's largest chunk (256 KiB of DATA: four 64 KiB frames and a fifth of 36 bytes) is just over this,
    /// so its inline writer leaves the small fifth frame to the write loop, on a pool worker. Measured, that is the
    /// faster way under bulk, probably because the loop then owns the transport and the relay frames its next chunks
    /// into the queue meanwhile (not traced). A limit above the chunk (320 KiB: one batch per chunk, 40% fewer pool
    /// hand-offs) cost 2-4% of 1-stream throughput and ~20% more context switches per MB in two A/B runs
    /// (docs/performance.md, "after the twenty-fifth session").
    /// </remarks>
    private const int WriteBatchLimit = 256 * 1024;

    private readonly Pipe _outputPipe;
    private protected readonly PipeWriter _output;
    private Task _writeLoop = Task.CompletedTask;

    /// <summary>Bytes flushed into the output pipe and not yet written to the transport (under _sync).</summary>
    private long _outputQueued;

    /// <summary>Streams whose writer waits for the output queue to drain (under _sync).</summary>
    private readonly List<Http2Stream> _drainWaiters = [];

    /// <summary>
    /// The last-stream-id of our GOAWAY (RFC 9113 §6.8): the highest peer-initiated stream we processed or
    /// may still process. A client accepts none (push is off): 0.
    /// </summary>
    private protected abstract int GoAwayLastStreamIdLocked { get; }

    /// <summary>Our SETTINGS, then the connection window raise (it can only be raised by WINDOW_UPDATE, RFC 9113 §6.9.2).</summary>
    private protected void WriteSettingsAndConnectionWindowLocked(ReadOnlySpan<Http2Setting> settings)
    {
        Http2FrameWriter.WriteSettings(_output, settings);
        Http2FrameWriter.WriteWindowUpdate(_output, 0, HboneDefaults.ConnectionWindow - 65535);
        _connectionReceiveWindow = HboneDefaults.ConnectionWindow;
    }

    private protected void WriteGoAwayLocked(Http2ErrorCode code, ReadOnlySpan<byte> debugData)
    {
        if (_closed)
        {
            return;
        }
        Http2FrameWriter.WriteGoAway(_output, GoAwayLastStreamIdLocked, code, debugData);
        _goAwaySent = true;
    }

    private protected void WriteRstStreamLocked(int streamId, Http2ErrorCode code)
    {
        if (!_closed)
        {
            Http2FrameWriter.WriteRstStream(_output, streamId, code);
        }
    }

    /// <summary>
    /// Publishes what was written into the output pipe and makes sure someone writes it: the current
    /// writer if there is one, else the write loop. Never blocks: the pipe has no pause threshold.
    /// </summary>
    private protected void FlushOutputLocked()
    {
        if (PublishOutputLocked())
        {
            EnsureWriterLocked();
        }
    }

    /// <summary>Makes the output pipe's new bytes readable; false when there were none.</summary>
    private bool PublishOutputLocked()
    {
        if (_closed)
        {
            return false;
        }
        long unflushed = _output.UnflushedBytes;
        if (unflushed == 0)
        {
            return false;
        }
        _outputQueued += unflushed;
        ValueTask<FlushResult> flush = _output.FlushAsync();
        if (flush.IsCompleted)
        {
            flush.GetAwaiter().GetResult();
        }
        else
        {
            // Cannot happen with pauseWriterThreshold 0; observe it anyway rather than leak the ValueTask.
            flush.AsTask().GetAwaiter().GetResult();
        }
        return true;
    }

    private protected void ThrowIfControlFloodLocked()
    {
        if (_outputQueued > ControlFloodLimit)
        {
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm,
                $"peer makes us queue control frames but does not read them ({_outputQueued} bytes queued)");
        }
    }

    private void WakeAllWritersLocked()
    {
        foreach (var stream in _drainWaiters)
        {
            stream.WakeWriterLocked();
        }
        _drainWaiters.Clear();
        foreach (var stream in _connectionWindowWaiters)
        {
            stream.WakeWriterLocked();
        }
        _connectionWindowWaiters.Clear();
    }
}
