using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Ztunnel.Hbone;

/// <summary>
/// The received DATA of one <see cref="Http2Stream"/>, waiting for its reader: what a <c>Pipe</c> did before, at
/// a fraction of the memory a held idle tunnel pays for (a pipe kept ~500 B per stream for its whole life: its
/// reader, writer, pooled segment and segment stack). Bytes live in <see cref="Http2BufferPool"/> blocks that go
/// back to the pool as soon as they are consumed, with their <see cref="ReceiveSegment"/>: an idle stream holds
/// this object only (96 B). No pause threshold: the peer's flow-control window is what bounds it.
/// </summary>
/// <remarks>
/// Thread safety: one writer (the connection's read loop, which calls <see cref="Write"/>,
/// <see cref="CompleteAtNextPublish"/> and <see cref="Complete"/> under the connection lock and <see cref="Publish"/>
/// outside it) and one reader at a
/// time on any thread (<see cref="TryRead"/> then <see cref="Consume"/>, <see cref="WaitAsync"/> in between).
/// This object's own monitor guards the positions and segments; it is held only for bookkeeping and the copy in,
/// never while a reader's continuation runs. The reader is woken through <see cref="ReadLoopScheduler.Run"/>:
/// inline when the read loop publishes inside <see cref="ReadLoopScheduler.RunInline"/>, else on the pool (so
/// never inside the connection lock). The wait is this object (<see cref="IValueTaskSource"/>, reset per wait),
/// so waiting allocates nothing.
/// </remarks>
internal sealed partial class StreamReceiveBuffer : IValueTaskSource, IThreadPoolWorkItem
{
    private readonly MemoryPool<byte> _pool;
    // Oldest segment with unconsumed bytes and the one the writer fills; both null while idle.
    private ReceiveSegment? _head;
    private ReceiveSegment? _tail;
    // Stream byte offsets: consumed <= published <= written. Only published bytes are the reader's.
    private long _written;
    private long _published;
    private long _consumed;
    private Exception? _error;
    private Action<object?>? _continuation;
    private object? _continuationState;
    private short _version;
    private bool _completed;
    private bool _waiting;
    private bool _signaled;
    private bool _reading;
    private bool _disposed;
    // The end was recorded by CompleteAtNextPublish: the reader's wake-up waits for the next Publish.
    private bool _wakeOwed;

    public StreamReceiveBuffer(MemoryPool<byte> pool) => _pool = pool;

    /// <summary>Pool blocks held now (tests and diagnostics).</summary>
    internal int BlocksHeld
    {
        get
        {
            lock (this)
            {
                return BlocksHeldLocked();
            }
        }
    }

    /// <summary>
    /// Nothing written is unconsumed, no read is in progress and the stream goes on: bytes that arrive now may bypass
    /// the buffer without overtaking anything (the writer's view: only the writer adds bytes).
    /// </summary>
    public bool IsIdle
    {
        get
        {
            lock (this)
            {
                return _written == _consumed && !_reading && !_completed && !_disposed;
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="data"/> in; the reader sees it at the next <see cref="Publish"/>. False once completed.
    /// Parts of at least <see cref="LendMinimum"/> bytes in a pool block of the connection's input are taken by
    /// reference (<see cref="ReceiveSegment.Lend"/>), the rest is copied.
    /// </summary>
    public bool Write(in ReadOnlySequence<byte> data)
    {
        lock (this)
        {
            if (_completed || _disposed)
            {
                return false;
            }
            SequencePosition next = data.Start;
            object? segment = next.GetObject();
            while (data.TryGet(ref next, out ReadOnlyMemory<byte> memory))
            {
                if (!TryLendLocked(segment, memory))
                {
                    CopyLocked(memory.Span);
                }
                segment = next.GetObject();
            }
            return true;
        }
    }

    /// <summary>
    /// Received DATA parts at least this long (one full TLS record) are kept in the input block they arrived in
    /// instead of copied (bulk transfer: one copy of every byte less, see <see cref="TryLendLocked"/>).
    /// </summary>
    internal const int LendMinimum = 16 * 1024;

    /// <summary>
    /// What a stream's buffer may hold besides twice its unread bytes, in blocks, when it takes a part by reference:
    /// lent parts keep whole input blocks resident, and the owned tail they end early leaves room unused.
    /// </summary>
    internal const int LendSlackBlocks = 3;

    /// <summary>
    /// Appends <paramref name="memory"/>, a part of <paramref name="segment"/>, by reference when it is long enough,
    /// in a pool block, and when the blocks held would stay within twice the unread bytes plus
    /// <see cref="LendSlackBlocks"/>: whatever a peer makes of its frames (tiny parts between lendable ones, nothing
    /// read meanwhile), a lend never lets the memory a stream holds grow past that; the rest is copied.
    /// </summary>
    private bool TryLendLocked(object? segment, ReadOnlyMemory<byte> memory)
    {
        if (memory.Length < LendMinimum || segment is not ReceiveSegment { IsLent: false } source)
        {
            return false;
        }
        long unread = _written - _consumed + memory.Length;
        if ((long)(BlocksHeldLocked() + 1) * Http2BufferPool.BlockSize > 2 * unread + LendSlackBlocks * (long)Http2BufferPool.BlockSize
            || !Http2BufferPool.TryRetain(source.Block))
        {
            return false;
        }
        ReceiveSegment lent = ReceiveSegment.Lend(source.Block!, memory, _written);
        ReceiveSegment? tail = _tail;
        if (tail is null)
        {
            _head = lent;
        }
        else
        {
            if (!tail.IsLent)
            {
                // The owned tail ends where it was written to; its free room goes unused.
                tail.EndAt((int)(_written - tail.RunningIndex));
            }
            tail.NextSegment = lent;
        }
        _tail = lent;
        _written += memory.Length;
        return true;
    }

    /// <summary>Segments held now, each counted as a whole block (lent parts of one input block count once each).</summary>
    private int BlocksHeldLocked()
    {
        int blocks = 0;
        for (ReceiveSegment? s = _head; s is not null; s = s.NextSegment)
        {
            blocks++;
        }
        return blocks;
    }

    private void CopyLocked(ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            ReceiveSegment tail = WritableTailLocked();
            Span<byte> room = tail.WritableSpan((int)(_written - tail.RunningIndex));
            int n = Math.Min(room.Length, source.Length);
            source[..n].CopyTo(room);
            source = source[n..];
            _written += n;
        }
    }

    /// <summary>Makes written bytes visible to the reader and wakes it if it waits.</summary>
    public void Publish()
    {
        lock (this)
        {
            bool owed = _wakeOwed;
            _wakeOwed = false;
            if (!_completed && !_disposed && _written != _published)
            {
                _published = _written;
            }
            else if (!owed)
            {
                return;
            }
        }
        Wake();
    }

    /// <summary>
    /// No more data: null is the end of the stream (reads return what is left, then the end), an exception a
    /// failure every read from now on throws (unread data is dropped, as a pipe completed with an error did, so its
    /// blocks go back now unless the reader holds them).
    /// </summary>
    public void Complete(Exception? error)
    {
        lock (this)
        {
            if (_completed)
            {
                // A failure after an end whose wake-up was deferred: nobody may sleep on until a publish.
                if (!_wakeOwed)
                {
                    return;
                }
                _wakeOwed = false;
            }
            else
            {
                _completed = true;
                _error = error;
                _published = _written;
                if (error is not null && !_reading)
                {
                    ReturnAllLocked();
                }
            }
        }
        Wake();
    }

    /// <summary>
    /// The end of the stream (END_STREAM), with the reader's wake-up left to the next <see cref="Publish"/>: the read
    /// loop records the end under the connection lock and publishes after the batch of frames, outside it, where
    /// a small remainder's reader runs on the read loop itself (<see cref="ReadLoopScheduler"/>) instead of a
    /// pool worker. A <see cref="Complete"/> with an error or a <see cref="Dispose"/> before that wakes it at once.
    /// </summary>
    public void CompleteAtNextPublish()
    {
        lock (this)
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            _published = _written;
            _wakeOwed = true;
        }
    }

    /// <summary>
    /// True with the unconsumed bytes (empty: the end of the stream), which the reader owns until it calls
    /// <see cref="Consume"/>; false when nothing is there yet (<see cref="WaitAsync"/>). Throws the completion error.
    /// </summary>
    public bool TryRead(out ReadOnlySequence<byte> data)
    {
        lock (this)
        {
            if (_error is not null)
            {
                ExceptionDispatchInfo.Throw(_error);
            }
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_reading)
            {
                throw new InvalidOperationException("HBONE stream receive buffer: a read is already in progress (one reader at a time)");
            }
            if (_published > _consumed)
            {
                ReceiveSegment start = _head!;
                ReceiveSegment end = start;
                while (_published > end.RunningIndex + end.Memory.Length)
                {
                    end = end.NextSegment!;
                }
                data = new ReadOnlySequence<byte>(start, (int)(_consumed - start.RunningIndex), end, (int)(_published - end.RunningIndex));
                _reading = true;
                return true;
            }
            data = default;
            return _completed;
        }
    }

    /// <summary>Ends a successful <see cref="TryRead"/>: the first <paramref name="count"/> bytes are gone (0: none).</summary>
    public void Consume(long count)
    {
        lock (this)
        {
            if (!_reading)
            {
                throw new InvalidOperationException("HBONE stream receive buffer: Consume without a read in progress");
            }
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _published - _consumed);
            _reading = false;
            if (_disposed || _error is not null)
            {
                // Disposed or failed while the reader held the bytes: their blocks were kept until now.
                ReturnAllLocked();
                return;
            }
            _consumed += count;
            ReturnConsumedLocked();
        }
    }

    /// <summary>Returns every block to the pool (at once, or when the reader holding some consumes) and wakes a waiting reader.</summary>
    public void Dispose()
    {
        lock (this)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _wakeOwed = false;
            if (!_reading)
            {
                ReturnAllLocked();
            }
        }
        Wake();
    }

    private ReceiveSegment WritableTailLocked()
    {
        ReceiveSegment? tail = _tail;
        if (tail is null)
        {
            // Idle until now: a fresh block, starting at the current stream offset.
            _head = _tail = ReceiveSegment.Rent(_pool.Rent(Http2BufferPool.BlockSize), _written);
            return _tail;
        }
        if (!tail.IsLent && _written - tail.RunningIndex < tail.Memory.Length)
        {
            return tail;
        }
        ReceiveSegment next = ReceiveSegment.Rent(_pool.Rent(Http2BufferPool.BlockSize), _written);
        tail.NextSegment = next;
        _tail = next;
        return next;
    }

    private void ReturnConsumedLocked()
    {
        if (_consumed == _written)
        {
            // Idle: nothing held until the next bytes come.
            ReturnAllLocked();
            return;
        }
        // Blocks wholly consumed go back at once; the tail still holds unconsumed bytes, so it stays.
        while (_consumed >= _head!.RunningIndex + _head.Memory.Length)
        {
            ReceiveSegment done = _head;
            _head = done.NextSegment;
            done.Return();
        }
    }

    private void ReturnAllLocked()
    {
        ReceiveSegment? head = _head;
        _head = _tail = null;
        ReceiveSegment.ReturnChain(head);
    }
}
