using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Ztunnel.Sockets;

namespace Ztunnel.Hbone;

/// <summary>
/// One CONNECT tunnel on an <see cref="Http2Connection"/>, either role. Received DATA lands in a private
/// <see cref="StreamReceiveBuffer"/> (no pause threshold: the peer's flow-control window is what bounds it) so
/// the connection's read loop never waits for this stream's reader; or, with a sink (<see cref="SendReceivedTo"/>),
/// goes straight to the sink when it takes it at once. Fields marked "under _sync" belong to the
/// connection's lock.
/// </summary>
internal sealed class Http2Stream : TunnelStream
{
    private readonly Http2Connection _connection;
    private readonly StreamReceiveBuffer _receive = new(Http2BufferPool.Shared);
    // Client streams wait for the response; server streams give the session a token that fires on reset.
    private readonly TaskCompletionSource? _response;
    private readonly CancellationTokenSource? _aborted;
    // Reset when this stream fails (ResetAlongWith); under _sync.
    private TunnelStream? _partner;
    private TaskCompletionSource? _writerWaiter;
    private Exception? _error;
    // Where the relay wants received DATA sent directly (SendReceivedTo), or null; set once, read by the read loop.
    private volatile IReceivedDataSink? _sink;
    private int _disposed;

    /// <param name="server">True for a stream the peer opened (we answer it), false for one we opened.</param>
    public Http2Stream(Http2Connection connection, int id, string authority, int sendWindow, int receiveWindow, bool server)
    {
        _connection = connection;
        Id = id;
        Authority = authority;
        SendWindow = sendWindow;
        ReceiveWindow = receiveWindow;
        if (server)
        {
            _aborted = new CancellationTokenSource();
            HeadersReceived = true;
        }
        else
        {
            // Continuations run where it completes: the opener on the read loop after the batch (no hand-off),
            // failures, which come under the connection lock, on the pool (FailResponse).
            _response = new TaskCompletionSource();
        }
    }

    public int Id { get; }
    public string Authority { get; }
    internal Task ResponseTask => _response!.Task;

    /// <summary>Server streams: fires when the stream is reset or the connection closes before it ended.</summary>
    internal CancellationToken Aborted => _aborted?.Token ?? CancellationToken.None;

    // --- under the connection's _sync ---
    internal long SendWindow { get; set; }
    internal int ReceiveWindow { get; set; }
    internal int ReceiveUnacked { get; set; }
    /// <summary>Bytes delivered into the receive buffer and not yet consumed: connection credit to return if nobody reads them.</summary>
    internal int ReceiveBuffered { get; set; }
    internal bool CreditReturned { get; set; }
    internal bool LocalClosed { get; set; }
    internal bool RemoteClosed { get; set; }
    /// <summary>The peer's HEADERS arrived (the response on a client stream; always true on a server stream).</summary>
    internal bool HeadersReceived { get; set; }
    /// <summary>Server streams: our response HEADERS went out.</summary>
    internal bool ResponseSent { get; set; }
    internal bool Failed => _error is not null;

    /// <summary>DATA may be sent: no error, no END_STREAM sent (the non-throwing <see cref="ThrowIfCannotSendLocked"/>).</summary>
    internal bool CanSendLocked => _error is null && !LocalClosed;

    internal void ThrowIfCannotSendLocked()
    {
        if (_error is not null)
        {
            throw _error as IOException ?? new IOException(_error.Message, _error);
        }
        if (LocalClosed)
        {
            throw new InvalidOperationException($"HBONE stream {Id} to {Authority}: writes were already completed (END_STREAM sent)");
        }
    }

    internal Task PrepareWriterWaitLocked()
    {
        _writerWaiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _writerWaiter.Task;
    }

    internal void WakeWriterLocked()
    {
        _writerWaiter?.TrySetResult();
        _writerWaiter = null;
    }

    /// <summary>Pool blocks the receive buffer holds now (tests: an idle stream holds none).</summary>
    internal int ReceiveBlocksHeld => _receive.BlocksHeld;

    /// <summary>True while data delivered to the receive buffer awaits <see cref="PublishReceived"/>.</summary>
    internal bool PublishPending { get; set; }

    /// <summary>Whether the reader runs on the read loop at the next publish (read loop only).</summary>
    internal bool PublishInline { get; set; }

    /// <summary>Copies received DATA into the receive buffer; the reader sees it at the next <see cref="PublishReceived"/>.</summary>
    internal void DeliverLocked(in ReadOnlySequence<byte> data)
    {
        if (!data.IsEmpty && _receive.Write(data))
        {
            ReceiveBuffered += (int)data.Length;
        }
    }

    /// <summary>
    /// As <see cref="DeliverLocked"/> for bytes already counted in <see cref="ReceiveBuffered"/>: what a direct send
    /// left over. If the stream failed meanwhile they are dropped; their credit goes back with the rest of
    /// <see cref="ReceiveBuffered"/>.
    /// </summary>
    internal void DeliverBufferedLocked(in ReadOnlySequence<byte> data) => _receive.Write(data);

    /// <summary>
    /// From now on the read loop may send received DATA straight to <paramref name="sink"/> instead of buffering it
    /// for a reader, whenever the receive buffer is empty and no read is in progress (so the bytes stay in order).
    /// The reader still gets what the sink does not take, the end of the stream and failures.
    /// </summary>
    internal void SendReceivedTo(IReceivedDataSink sink) => _sink = sink;

    /// <summary>See <see cref="Http2Connection.TryWriteDataFromSocketNow"/>.</summary>
    internal int TryWriteFromSocketNow(PolledSocket socket, out bool drained) => _connection.TryWriteDataFromSocketNow(this, socket, out drained);

    /// <summary>The direct sink if received DATA may go to it now: nothing older waits in the buffer or is being read.</summary>
    internal IReceivedDataSink? DirectSinkLocked() => _sink is { } sink && _receive.IsIdle ? sink : null;

    /// <summary>
    /// Makes delivered data visible to the reader (and may run it, see <see cref="ReadLoopScheduler"/>). The read
    /// loop calls this once per batch of frames rather than per frame, so a burst of frames costs the reader
    /// one wake-up, and outside the connection lock, so the reader may take it.
    /// </summary>
    internal void PublishReceived() => _receive.Publish();

    /// <summary>Null: END_STREAM (reads drain what is left, then end); else reads throw <paramref name="error"/>.</summary>
    internal void CompleteReceiveLocked(Exception? error) => _receive.Complete(error);

    /// <summary>END_STREAM from the read loop: the reader is woken at the next <see cref="PublishReceived"/>, with the batch's other readers.</summary>
    internal void EndReceiveAtNextPublishLocked() => _receive.CompleteAtNextPublish();

    /// <summary>A 200 response arrived (read loop, under the lock): the opener continues after the batch (<see cref="ReleaseResponse"/>).</summary>
    internal bool ResponseOwed { get; set; }

    /// <summary>Read loop only, outside the connection lock: lets the opener continue, on this thread.</summary>
    internal void ReleaseResponse()
    {
        ResponseOwed = false;
        _response?.TrySetResult();
    }

    /// <summary>Fails the opener's wait, from a pool worker: callers hold the connection lock.</summary>
    private void FailResponse(Exception error)
    {
        if (_response is { Task.IsCompleted: false } response)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Response.TrySetException(s.Error), (Response: response, Error: error), preferLocal: false);
        }
    }

    /// <summary>The stream is over abnormally (reset, refused, connection gone): everything pending fails with <paramref name="error"/>.</summary>
    internal void FailLocked(Exception error)
    {
        _error ??= error;
        LocalClosed = true;
        RemoteClosed = true;
        FailResponse(_error);
        CompleteReceiveLocked(_error);
        WakeWriterLocked();
        if (_partner is { } partner)
        {
            // Not under the connection lock either: the partner may be a stream of this very connection.
            _partner = null;
            ThreadPool.UnsafeQueueUserWorkItem(static p => p.Reset(), partner, preferLocal: false);
        }
        if (_aborted is { IsCancellationRequested: false } aborted)
        {
            // Not under the connection lock: the session's callbacks may call back into the connection.
            ThreadPool.UnsafeQueueUserWorkItem(static cts => CancelQuietly(cts), aborted, preferLocal: false);
        }
    }

    internal override void ResetAlongWith(TunnelStream partner) => _connection.ResetAlongWith(this, partner);

    /// <summary>Under the connection's _sync: remembers <paramref name="partner"/>, or resets it at once if this stream already failed.</summary>
    internal void ResetAlongWithLocked(TunnelStream partner)
    {
        if (_error is null)
        {
            _partner = partner;
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(static p => p.Reset(), partner, preferLocal: false);
        }
    }

    private static void CancelQuietly(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended and disposed the stream first: nobody is left to tell.
        }
    }

    // Pooled builder: a read that waits for data does not allocate a state machine box each time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (await ReadReceivedAsync(cancellationToken).ConfigureAwait(false) is not { } data)
        {
            return 0;
        }
        // A zero-byte read ends here too: it completed once data (or the end) was there, and consumes nothing.
        int n = (int)Math.Min(data.Length, buffer.Length);
        data.Slice(0, n).CopyTo(buffer.Span);
        _receive.Consume(n);
        if (n > 0)
        {
            _connection.OnDataConsumed(this, n);
        }
        return n;
    }

    /// <summary>
    /// Completes when received data (or the end, or a reset) is there, as a zero-byte read does, but is the receive
    /// buffer's own wait: the relay awaits it directly, so an idle tunnel holds no state machine of the stream's and
    /// a wait allocates nothing. Consumes nothing; a failure surfaces at the next read.
    /// </summary>
    internal ValueTask WaitForReceivedAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _receive.WaitAsync();
    }

    /// <summary>
    /// The received bytes not yet consumed (a read the caller must end with <see cref="StreamReceiveBuffer.Consume"/>),
    /// or null at the end of the stream (nothing more will come; no read is left open).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadOnlySequence<byte>?> ReadReceivedAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        while (true)
        {
            if (_receive.TryRead(out ReadOnlySequence<byte> data))
            {
                return data.IsEmpty ? null : data;
            }
            if (!cancellationToken.CanBeCanceled)
            {
                await _receive.WaitAsync().ConfigureAwait(false);
                continue;
            }
            // The registration lives only while this read waits: nothing per idle stream.
            using (cancellationToken.UnsafeRegister(static buffer => ((StreamReceiveBuffer)buffer!).CancelWait(), _receive))
            {
                await _receive.WaitAsync().ConfigureAwait(false);
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Writes received DATA to <paramref name="destination"/> straight from this stream's receive buffer, without
    /// the copy into a caller's buffer that <see cref="ReadAsync(Memory{byte}, CancellationToken)"/> makes. The
    /// flow-control credit goes back once the destination took the bytes, as with a read.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal override async ValueTask<int> MoveChunkToAsync(TunnelStream destination, int maxBytes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (await ReadReceivedAsync(cancellationToken).ConfigureAwait(false) is not { } received)
        {
            return 0;
        }
        ReadOnlySequence<byte> data = received.Length > maxBytes ? received.Slice(0, maxBytes) : received;
        try
        {
            if (data.IsSingleSegment)
            {
                await destination.WriteAsync(data.First, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await destination.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            // End the read (one at a time) without consuming; the relay resets both ends after this.
            _receive.Consume(0);
            throw;
        }
        int n = (int)data.Length;
        _receive.Consume(n);
        _connection.OnDataConsumed(this, n);
        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _connection.WriteDataAsync(this, buffer, cancellationToken);
    }

    /// <summary>
    /// Sends up to <paramref name="maxBytes"/> that <paramref name="socket"/> has received on as this stream's DATA,
    /// received straight into the connection's output (Http2Connection.SocketData.cs). Returns the bytes sent on, 0 at
    /// the socket's end of stream, -1 when the socket had nothing yet.
    /// </summary>
    internal ValueTask<int> WriteFromSocketAsync(PolledSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _connection.WriteDataFromSocketAsync(this, socket, maxBytes, cancellationToken);
    }

    public override ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _connection.CompleteWritesAsync(this);
    }

    public override void Reset() => _connection.ResetStreamLocally(this);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Data is handed to the connection on write; there is nothing to flush per stream.</summary>
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Not closed both ways: RST_STREAM CANCEL; either way unread data's credit goes back.
            _connection.ReleaseStream(this);
            _receive.Dispose();
            _aborted?.Dispose();
        }
        base.Dispose(disposing);
    }
}
