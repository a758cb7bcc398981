using System.Buffers;
using System.Collections.Concurrent;

namespace Ztunnel.Hbone;

/// <summary>
/// One pooled block of a <see cref="StreamReceiveBuffer"/> or <see cref="Http2InputBuffer"/> (or, lent, a part of
/// one: <see cref="Lend"/>), linked so the unread bytes can be handed out as a
/// <see cref="ReadOnlySequence{T}"/> without copying. Segments come from a process-wide free list and go back
/// to it with their block, so an idle stream holds none and a stream going busy again allocates nothing.
/// </summary>
/// <remarks>
/// Every segment but the last of a sequence ends at its last written byte: the writer moves on only when a block
/// has no room left, or first cuts the segment short with <see cref="EndAt"/>. So
/// <see cref="ReadOnlySequenceSegment{T}.Memory"/> never changes while a reader holds a sequence over it. A segment
/// is returned (<see cref="Return"/>) under the same rule as its block: only once no reader can still see it.
/// </remarks>
internal sealed class ReceiveSegment : ReadOnlySequenceSegment<byte>
{
    /// <summary>Free segments kept for reuse (56 B each): as many as the busiest moment of the process needed, up to this.</summary>
    public const int MaxRetained = 1024;

    private static readonly ConcurrentQueue<ReceiveSegment> s_free = new();
    private static int s_freeCount;

    private IMemoryOwner<byte>? _block;
    private bool _lent;

    private ReceiveSegment()
    {
    }

    /// <summary>The next segment of the buffer, null for its last.</summary>
    public ReceiveSegment? NextSegment
    {
        get => (ReceiveSegment?)Next;
        set => Next = value;
    }

    /// <summary>A segment holding <paramref name="block"/>, whose first byte is byte <paramref name="runningIndex"/> of the stream.</summary>
    public static ReceiveSegment Rent(IMemoryOwner<byte> block, long runningIndex)
    {
        if (s_free.TryDequeue(out var segment))
        {
            Interlocked.Decrement(ref s_freeCount);
        }
        else
        {
            segment = new ReceiveSegment();
        }
        segment._block = block;
        segment.Memory = block.Memory;
        segment.RunningIndex = runningIndex;
        return segment;
    }

    /// <summary>
    /// A read-only segment over <paramref name="bytes"/>, a part of another segment's block that
    /// <paramref name="retainedBlock"/> holds a reference to (<see cref="Http2BufferPool.TryRetain"/>): received DATA
    /// handed from the connection's input to a stream without a copy. The reference goes with <see cref="Return"/>.
    /// </summary>
    public static ReceiveSegment Lend(IMemoryOwner<byte> retainedBlock, ReadOnlyMemory<byte> bytes, long runningIndex)
    {
        ReceiveSegment segment = Rent(retainedBlock, runningIndex);
        segment.Memory = bytes;
        segment._lent = true;
        return segment;
    }

    /// <summary>The pool block this segment's bytes live in (null once returned).</summary>
    public IMemoryOwner<byte>? Block => _block;

    /// <summary>Made by <see cref="Lend"/>: its bytes are another segment's, never written here.</summary>
    public bool IsLent => _lent;

    /// <summary>The block's bytes from <paramref name="offset"/> on, for the writer.</summary>
    public Span<byte> WritableSpan(int offset) => WritableBlock().Memory.Span[offset..];

    /// <summary>The block's bytes from <paramref name="offset"/> on, for a writer that fills them asynchronously.</summary>
    public Memory<byte> WritableMemory(int offset) => WritableBlock().Memory[offset..];

    private IMemoryOwner<byte> WritableBlock() =>
        _lent ? throw new InvalidOperationException("a lent receive segment is read-only") : _block!;

    /// <summary>
    /// Ends the segment after its first <paramref name="length"/> bytes: the writer left the rest of the block unused
    /// and went on in a new one (<see cref="Http2InputBuffer"/>). Only before a reader sees the next segment.
    /// </summary>
    public void EndAt(int length) => Memory = Memory[..length];

    /// <summary><see cref="Return"/> for <paramref name="first"/> and every segment linked after it.</summary>
    public static void ReturnChain(ReceiveSegment? first)
    {
        while (first is not null)
        {
            ReceiveSegment? next = first.NextSegment;
            first.Return();
            first = next;
        }
    }

    /// <summary>Gives the block back to its pool and this segment to the free list; nothing may read either afterwards.</summary>
    public void Return()
    {
        IMemoryOwner<byte>? block = _block;
        _block = null;
        _lent = false;
        Memory = default;
        Next = null;
        block?.Dispose();
        if (Interlocked.Increment(ref s_freeCount) <= MaxRetained)
        {
            s_free.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref s_freeCount);
        }
    }
}
