using System.Runtime.CompilerServices;

namespace Ztunnel.Hbone;

// Flow control (RFC 9113 §5.2, §6.9). Windows are signed: a peer SETTINGS_INITIAL_WINDOW_SIZE decrease
// can push a stream's send window below zero (§6.9.2), and the sender then waits for WINDOW_UPDATEs.
// Receive side: we advertise 4 MiB per stream and 16 MiB per connection and give credit back only as the
// application consumes data, in batches of half a window, so a stalled reader stops its sender without
// ever blocking our read loop.
public abstract partial class Http2Connection
{
    /// <summary>Largest window RFC 9113 §6.9.1 allows.</summary>
    private const long MaxWindow = int.MaxValue;

    /// <summary>
    /// Largest DATA payload we send (or the peer's max frame size if smaller): big enough that frame
    /// overhead is nil, small enough that streams sharing a connection interleave finely.
    /// </summary>
    private const int MaxDataPayload = (64 * 1024) - Http2FrameHeader.Size;

    private long _connectionSendWindow = 65535;
    private long _connectionReceiveWindow;
    private int _connectionReceiveUnacked;

    /// <summary>Streams whose writer waits for connection-level credit (under _sync).</summary>
    private readonly List<Http2Stream> _connectionWindowWaiters = [];

    /// <summary>Sends <paramref name="data"/> as DATA frames within the stream and connection send windows.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask WriteDataAsync(Http2Stream stream, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (true)
        {
            Task? wait = null;
            bool writeHere;
            lock (_sync)
            {
                stream.ThrowIfCannotSendLocked();
                int maxPayload = Math.Min(_peerMaxFrameSize, MaxDataPayload);
                while (!data.IsEmpty && _outputQueued < OutputHighWater)
                {
                    long credit = Math.Min(stream.SendWindow, _connectionSendWindow);
                    if (credit <= 0)
                    {
                        break;
                    }
                    int n = (int)Math.Min(Math.Min(credit, data.Length), maxPayload);
                    Http2FrameWriter.WriteData(_output, stream.Id, data.Span[..n], endStream: false);
                    stream.SendWindow -= n;
                    _connectionSendWindow -= n;
                    data = data[n..];
                }
                // Nobody writing: write our frames to the transport ourselves (WriteLoop.cs says why).
                writeHere = PublishAndClaimLocked();
                if (!data.IsEmpty && !writeHere)
                {
                    wait = PrepareDataWriterWaitLocked(stream);
                }
            }
            if (writeHere)
            {
                await WriteInlineAsync().ConfigureAwait(false);
            }
            if (data.IsEmpty)
            {
                return;
            }
            if (wait is not null)
            {
                await wait.WaitAsync(ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A DATA writer that can send nothing now waits to be woken by what it lacks: queue space or credit.</summary>
    private Task PrepareDataWriterWaitLocked(Http2Stream stream)
    {
        Task wait = stream.PrepareWriterWaitLocked();
        if (_outputQueued >= OutputHighWater)
        {
            _drainWaiters.Add(stream);
        }
        else if (_connectionSendWindow <= 0)
        {
            _connectionWindowWaiters.Add(stream);
        }
        // else: the stream window is exhausted; its WINDOW_UPDATE (or a SETTINGS raise) wakes us.
        return wait;
    }

    /// <summary>Half-closes our side: an empty DATA frame with END_STREAM (needs no credit), written inline when nobody is writing.</summary>
    internal ValueTask CompleteWritesAsync(Http2Stream stream)
    {
        bool writeHere;
        lock (_sync)
        {
            if (stream.LocalClosed)
            {
                return ValueTask.CompletedTask;
            }
            stream.ThrowIfCannotSendLocked();
            Http2FrameWriter.WriteData(_output, stream.Id, default, endStream: true);
            writeHere = PublishAndClaimLocked();
            stream.LocalClosed = true;
            if (stream.RemoteClosed)
            {
                RemoveStreamLocked(stream);
            }
        }
        return writeHere ? WriteInlineAsync() : ValueTask.CompletedTask;
    }

    /// <summary>
    /// The application consumed <paramref name="count"/> bytes of <paramref name="stream"/>: give the credit
    /// back, batched to one WINDOW_UPDATE per half window (stream and connection separately).
    /// </summary>
    internal void OnDataConsumed(Http2Stream stream, int count)
    {
        lock (_sync)
        {
            if (stream.CreditReturned)
            {
                // The stream was reset or the connection closed; its buffered bytes were already returned.
                return;
            }
            stream.ReceiveBuffered -= count;
            ReturnStreamCreditLocked(stream, count);
            ReturnConnectionCreditLocked(count);
            FlushOutputLocked();
        }
    }

    private void ReturnStreamCreditLocked(Http2Stream stream, int count)
    {
        if (stream.RemoteClosed || _closed)
        {
            // The peer sends nothing more on this stream: no credit needed.
            return;
        }
        stream.ReceiveUnacked += count;
        if (stream.ReceiveUnacked >= HboneDefaults.StreamWindow / 2)
        {
            Http2FrameWriter.WriteWindowUpdate(_output, stream.Id, stream.ReceiveUnacked);
            stream.ReceiveWindow += stream.ReceiveUnacked;
            stream.ReceiveUnacked = 0;
        }
    }

    private protected void ReturnConnectionCreditLocked(int count)
    {
        if (_closed || count == 0)
        {
            return;
        }
        _connectionReceiveUnacked += count;
        if (_connectionReceiveUnacked >= HboneDefaults.ConnectionWindow / 2)
        {
            Http2FrameWriter.WriteWindowUpdate(_output, 0, _connectionReceiveUnacked);
            _connectionReceiveWindow += _connectionReceiveUnacked;
            _connectionReceiveUnacked = 0;
        }
    }

    /// <summary>A stream is gone with unread data in its buffer: that data will never be consumed, return it.</summary>
    private protected void ReturnUnreadCreditLocked(Http2Stream stream)
    {
        if (stream.CreditReturned)
        {
            return;
        }
        stream.CreditReturned = true;
        ReturnConnectionCreditLocked(stream.ReceiveBuffered);
        stream.ReceiveBuffered = 0;
    }

    /// <summary>WINDOW_UPDATE (RFC 9113 §6.9): zero increment is PROTOCOL_ERROR, overflow past 2^31-1 is FLOW_CONTROL_ERROR.</summary>
    private void OnWindowUpdateLocked(int streamId, int increment)
    {
        if (streamId == 0)
        {
            if (increment == 0)
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on the connection with a zero increment");
            }
            _connectionSendWindow += increment;
            if (_connectionSendWindow > MaxWindow)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError,
                    $"WINDOW_UPDATE of {increment} takes the connection send window to {_connectionSendWindow}, above 2^31-1");
            }
            if (_connectionSendWindow > 0)
            {
                foreach (var waiter in _connectionWindowWaiters)
                {
                    waiter.WakeWriterLocked();
                }
                _connectionWindowWaiters.Clear();
            }
            return;
        }
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            ThrowIfIdleStream(streamId, Http2FrameType.WindowUpdate);
            return; // closed stream: frames in flight are ignored (§5.1)
        }
        if (increment == 0)
        {
            throw new Http2StreamException(streamId, Http2ErrorCode.ProtocolError, "WINDOW_UPDATE with a zero increment");
        }
        stream.SendWindow += increment;
        if (stream.SendWindow > MaxWindow)
        {
            throw new Http2StreamException(streamId, Http2ErrorCode.FlowControlError,
                $"WINDOW_UPDATE of {increment} takes the stream send window to {stream.SendWindow}, above 2^31-1");
        }
        if (stream.SendWindow > 0)
        {
            stream.WakeWriterLocked();
        }
    }

    /// <summary>A new SETTINGS_INITIAL_WINDOW_SIZE shifts every open stream's send window by the difference (§6.9.2).</summary>
    private void ApplyInitialWindowSizeLocked(int newSize)
    {
        long delta = (long)newSize - _peerInitialWindowSize;
        _peerInitialWindowSize = newSize;
        if (delta == 0)
        {
            return;
        }
        foreach (var stream in _streams.Values)
        {
            stream.SendWindow += delta;
            if (stream.SendWindow > MaxWindow)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError,
                    $"SETTINGS_INITIAL_WINDOW_SIZE {newSize} takes stream {stream.Id}'s send window to {stream.SendWindow}, above 2^31-1");
            }
            if (delta > 0 && stream.SendWindow > 0)
            {
                stream.WakeWriterLocked();
            }
        }
    }
}
