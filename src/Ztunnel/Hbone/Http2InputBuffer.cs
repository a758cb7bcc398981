using System.Buffers;

namespace Ztunnel.Hbone;

/// <summary>
/// The bytes an HTTP/2 connection has read from its transport and not yet parsed into frames: what a
/// <c>StreamPipeReader</c> did before, minus its costs per received message. The read loop reads straight into
/// <see cref="GetReadMemory"/>, so no reader of ours waits in between (a <c>StreamPipeReader</c> passed its own
/// cancellation token to every read, which registered on it each time it had to wait, and added one more async
/// state machine per message). A drained buffer that keeps its block starts over at its first byte; the read loop
/// gives it back instead before it waits (<see cref="ReleaseIfDrained"/>, remarks).
/// </summary>
/// <remarks>
/// Read loop only: one thread at a time, no locks. Blocks come from <see cref="Http2BufferPool"/> and are linked
/// as <see cref="ReceiveSegment"/>s, so a frame larger than a block (we accept payloads up to
/// <see cref="HboneDefaults.MaxFrameSize"/>) or one that straddles two reads is parsed without a copy. Between
/// messages the read loop gives its drained block back (<see cref="ReleaseIfDrained"/>) and waits for the next
/// bytes with a zero-byte read: an idle connection holds no block (a pooled HBONE connection that once carried
/// bulk traffic would keep 64 KiB resident for as long as it stays open). Streams may hold references to these
/// blocks (large DATA, lent instead of copied): a read only ever writes past every byte read before, or into a
/// block nobody else holds.
/// </remarks>
internal sealed class Http2InputBuffer : IDisposable
{
    /// <summary>
    /// A read gets at least this much room (one full TLS record's plaintext), else a new block; a read into a fresh
    /// block can take up to four records at once.
    /// </summary>
    public const int MinimumReadSize = 16 * 1024;

    private readonly MemoryPool<byte> _pool;
    // Oldest block with unconsumed bytes, and the block reads fill; null before the first read and after Dispose.
    private ReceiveSegment? _head;
    private ReceiveSegment? _tail;
    // Offsets into _head and _tail: the unconsumed bytes run from _headStart in _head to _tailEnd in _tail.
    private int _headStart;
    private int _tailEnd;
    private bool _disposed;

    public Http2InputBuffer(MemoryPool<byte> pool) => _pool = pool;

    /// <summary>Pool blocks held now (tests and diagnostics).</summary>
    internal int BlocksHeld
    {
        get
        {
            int blocks = 0;
            for (ReceiveSegment? s = _head; s is not null; s = s.NextSegment)
            {
                blocks++;
            }
            return blocks;
        }
    }

    /// <summary>The unconsumed bytes, oldest first.</summary>
    public ReadOnlySequence<byte> Data => _head is null
        ? ReadOnlySequence<byte>.Empty
        : new ReadOnlySequence<byte>(_head, _headStart, _tail!, _tailEnd);

    /// <summary>Room for the next transport read, at least <see cref="MinimumReadSize"/> bytes; <see cref="Advance"/> commits what it filled.</summary>
    public Memory<byte> GetReadMemory()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_head is null)
        {
            _head = _tail = ReceiveSegment.Rent(_pool.Rent(Http2BufferPool.BlockSize), runningIndex: 0);
        }
        else if (_head == _tail && _headStart == _tailEnd)
        {
            if (Http2BufferPool.IsShared(_head.Block))
            {
                // Drained, but a stream still reads DATA lent from this block (StreamReceiveBuffer.Write): never
                // write over it; the stream's reference keeps it until then.
                _head.Return();
                _head = _tail = ReceiveSegment.Rent(_pool.Rent(Http2BufferPool.BlockSize), runningIndex: 0);
            }
            // Drained: start the block over instead of leaving its front unused (no copy, nothing to move).
            _headStart = _tailEnd = 0;
        }
        else if (_tail!.Memory.Length - _tailEnd < MinimumReadSize)
        {
            // The little room left goes unused: a sequence may not skip bytes inside a segment, so the block ends here.
            _tail.EndAt(_tailEnd);
            var next = ReceiveSegment.Rent(_pool.Rent(Http2BufferPool.BlockSize), _tail.RunningIndex + _tailEnd);
            _tail.NextSegment = next;
            _tail = next;
            _tailEnd = 0;
        }
        return _tail!.WritableMemory(_tailEnd);
    }

    /// <summary>
    /// Gives the block back to the pool when every byte read has been consumed, so that waiting for the next bytes
    /// holds no memory; true when the buffer holds no block now. A partial frame keeps its blocks.
    /// </summary>
    public bool ReleaseIfDrained()
    {
        if (_head is null)
        {
            return true;
        }
        if (_head != _tail || _headStart != _tailEnd)
        {
            return false;
        }
        ReceiveSegment drained = _head;
        _head = _tail = null;
        _headStart = _tailEnd = 0;
        drained.Return();
        return true;
    }

    /// <summary>Commits <paramref name="count"/> bytes a read wrote into the memory <see cref="GetReadMemory"/> returned.</summary>
    public void Advance(int count)
    {
        if (_tail is null || (uint)count > (uint)(_tail.Memory.Length - _tailEnd))
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "more bytes than the read memory had room for");
        }
        _tailEnd += count;
    }

    /// <summary>
    /// Drops the bytes before <paramref name="consumed"/>, a position in the latest <see cref="Data"/>; blocks
    /// wholly before it go back to the pool.
    /// </summary>
    public void Consume(SequencePosition consumed)
    {
        if (_head is null)
        {
            return;
        }
        if (consumed.GetObject() is not ReceiveSegment segment)
        {
            throw new ArgumentException("not a position in this buffer's data", nameof(consumed));
        }
        int offset = consumed.GetInteger();
        // A position at the very end of a full block is the start of the next one: let that block go too.
        if (offset == segment.Memory.Length && segment != _tail)
        {
            segment = segment.NextSegment!;
            offset = 0;
        }
        while (_head != segment)
        {
            ReceiveSegment done = _head!;
            _head = done.NextSegment ?? throw new ArgumentException("not a position in this buffer's data", nameof(consumed));
            done.Return();
        }
        _headStart = offset;
    }

    /// <summary>Gives every block back. Only once no read is pending into them.</summary>
    public void Dispose()
    {
        _disposed = true;
        ReceiveSegment? head = _head;
        _head = _tail = null;
        ReceiveSegment.ReturnChain(head);
    }
}
