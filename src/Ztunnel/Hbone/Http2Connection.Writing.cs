using System.Buffers;
using System.IO.Pipelines;

namespace Ztunnel.Hbone;

// Output: every frame is serialised under _sync straight into an unbounded in-memory pipe (a memcpy,
// never a network wait); the write loop drains the pipe to the transport. Frames queued while the loop
// is busy go out together on its next pass (coalescing). DATA writers respect a high-water mark on the
// queued bytes, so a slow network pushes back on them instead of growing the queue.
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

    /// <summary>Publishes what was written into the output pipe to the write loop. Never blocks: the pipe has no pause threshold.</summary>
    private protected void FlushOutputLocked()
    {
        if (_closed)
        {
            return;
        }
        long unflushed = _output.UnflushedBytes;
        if (unflushed == 0)
        {
            return;
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
    }

    private protected void ThrowIfControlFloodLocked()
    {
        if (_outputQueued > ControlFloodLimit)
        {
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm,
                $"peer makes us queue control frames but does not read them ({_outputQueued} bytes queued)");
        }
    }

    /// <summary>
    /// Small frames (headers, WINDOW_UPDATE, the tail of a DATA frame) are gathered into writes of this size,
    /// so TLS gets full 16 KiB records instead of one tiny record (and one syscall) per pipe segment.
    /// </summary>
    private const int StagingSize = 64 * 1024;

    private async Task WriteLoopAsync()
    {
        PipeReader reader = _outputPipe.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                long written = 0;
                if (buffer.IsSingleSegment)
                {
                    ReadOnlyMemory<byte> only = buffer.First;
                    if (only.Length > WriteBatchLimit)
                    {
                        only = only[..WriteBatchLimit];
                    }
                    await _transport.WriteAsync(only).ConfigureAwait(false);
                    written = only.Length;
                }
                else
                {
                    // Rented per batch, not per connection: an idle connection holds no staging buffer.
                    byte[] staging = ArrayPool<byte>.Shared.Rent(StagingSize);
                    int staged = 0;
                    foreach (ReadOnlyMemory<byte> segment in buffer)
                    {
                        if (staged > 0 && staged + segment.Length > StagingSize)
                        {
                            await _transport.WriteAsync(staging.AsMemory(0, staged)).ConfigureAwait(false);
                            staged = 0;
                        }
                        if (segment.Length >= StagingSize)
                        {
                            await _transport.WriteAsync(segment).ConfigureAwait(false);
                        }
                        else
                        {
                            segment.Span.CopyTo(staging.AsSpan(staged));
                            staged += segment.Length;
                        }
                        written += segment.Length;
                        if (written >= WriteBatchLimit)
                        {
                            break;
                        }
                    }
                    if (staged > 0)
                    {
                        await _transport.WriteAsync(staging.AsMemory(0, staged)).ConfigureAwait(false);
                    }
                    ArrayPool<byte>.Shared.Return(staging);
                }
                if (written > 0)
                {
                    await _transport.FlushAsync().ConfigureAwait(false);
                }
                reader.AdvanceTo(buffer.GetPosition(written));
                OnOutputWritten(written);
                if (result.IsCompleted && written == buffer.Length)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException or OperationCanceledException)
        {
            Abort(new IOException($"HTTP/2 connection write failed: {e.Message}", e), goAwayCode: null);
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private void OnOutputWritten(long written)
    {
        lock (_sync)
        {
            _outputQueued -= written;
            if (_outputQueued < OutputHighWater / 2 && _drainWaiters.Count > 0)
            {
                foreach (var stream in _drainWaiters)
                {
                    stream.WakeWriterLocked();
                }
                _drainWaiters.Clear();
            }
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
