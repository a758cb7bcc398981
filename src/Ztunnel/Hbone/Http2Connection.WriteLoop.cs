using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Ztunnel.Hbone;

// Who writes the output pipe to the transport: exactly one owner at a time (a TLS stream takes one writer),
// tracked by _writerBusy under _sync. A DATA writer that finds nobody writing becomes the owner and writes
// its own frames to the transport ("combining"): no wake-up of another thread per chunk, the relay's own
// await carries the network write, as with a plain socket. Everyone else (the read loop's replies, timers,
// a second writer) queues and hands ownership to the write loop when there is no owner. An owner writes
// until the queue is empty; an inline owner writes one batch and passes what is left to the loop.
public abstract partial class Http2Connection
{
    /// <summary>
    /// Small frames (headers, WINDOW_UPDATE, the tail of a DATA frame) are gathered into writes of this size,
    /// so TLS gets full 16 KiB records instead of one tiny record (and one syscall) per pipe segment.
    /// </summary>
    private const int StagingSize = 64 * 1024;

    private readonly Http2WriteSignal _writeSignal = new();

    /// <summary>Someone owns the transport's write side (under _sync).</summary>
    private bool _writerBusy;

    /// <summary>Queued output and no owner: the write loop takes it.</summary>
    private void EnsureWriterLocked()
    {
        if (!_writerBusy)
        {
            _writerBusy = true;
            _writeSignal.Set();
        }
    }

    /// <summary>Publishes queued output; true when the caller became the owner and must call <see cref="WriteInlineAsync"/>.</summary>
    private protected bool PublishAndClaimLocked()
    {
        if (!PublishOutputLocked() || _writerBusy)
        {
            return false;
        }
        _writerBusy = true;
        return true;
    }

    /// <summary>The caller owns the transport: write one batch, then release or hand the rest to the loop.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private protected async ValueTask WriteInlineAsync()
    {
        PipeReader reader = _outputPipe.Reader;
        try
        {
            bool read = reader.TryRead(out ReadResult result);
            if (!read || result.IsCompleted)
            {
                if (read)
                {
                    // A read must be ended before the next one (the loop's): leave every byte for it.
                    reader.AdvanceTo(result.Buffer.Start);
                }
                // Closing: the loop writes the last frames and ends.
                lock (_sync)
                {
                    _writeSignal.Set();
                }
                return;
            }
            long written;
            try
            {
                written = await WriteBatchAsync(result.Buffer).ConfigureAwait(false);
            }
            catch
            {
                reader.AdvanceTo(result.Buffer.Start); // end the read: the loop reads next, and ends
                throw;
            }
            reader.AdvanceTo(result.Buffer.GetPosition(written));
            lock (_sync)
            {
                OnOutputWrittenLocked(written);
                if (_outputQueued > 0 || _closed)
                {
                    _writeSignal.Set(); // ownership passes to the loop
                }
                else
                {
                    _writerBusy = false;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException or OperationCanceledException)
        {
            var error = new IOException($"HTTP/2 connection write failed: {e.Message}", e);
            Abort(error, goAwayCode: null);
            lock (_sync)
            {
                _writeSignal.Set(); // the loop sees the completed pipe and ends
            }
            throw error;
        }
    }

    private async Task WriteLoopAsync()
    {
        PipeReader reader = _outputPipe.Reader;
        try
        {
            while (true)
            {
                await _writeSignal.WaitAsync().ConfigureAwait(false);
                // We own the transport until the queue is empty.
                while (true)
                {
                    if (!reader.TryRead(out ReadResult result))
                    {
                        lock (_sync)
                        {
                            // Bytes are counted and published under the lock, so none counted means none to read.
                            if (_outputQueued == 0 && !_closed)
                            {
                                _writerBusy = false;
                                break;
                            }
                        }
                        continue;
                    }
                    ReadOnlySequence<byte> buffer = result.Buffer;
                    long written = buffer.IsEmpty ? 0 : await WriteBatchAsync(buffer).ConfigureAwait(false);
                    reader.AdvanceTo(buffer.GetPosition(written));
                    if (result.IsCompleted && written == buffer.Length)
                    {
                        return;
                    }
                    bool idle;
                    lock (_sync)
                    {
                        OnOutputWrittenLocked(written);
                        idle = _outputQueued == 0 && !_closed;
                        if (idle)
                        {
                            _writerBusy = false;
                        }
                    }
                    if (idle)
                    {
                        break;
                    }
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

    /// <summary>Writes up to <see cref="WriteBatchLimit"/> bytes of <paramref name="buffer"/>, flushes once, returns how many.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> WriteBatchAsync(ReadOnlySequence<byte> buffer)
    {
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
            try
            {
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
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(staging);
            }
        }
        if (written > 0)
        {
            await _transport.FlushAsync().ConfigureAwait(false);
        }
        return written;
    }

    private void OnOutputWrittenLocked(long written)
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
