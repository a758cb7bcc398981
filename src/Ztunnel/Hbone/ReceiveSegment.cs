using System.Buffers;

namespace Ztunnel.Hbone;

/// <summary>
/// One pooled block of a <see cref="StreamReceiveBuffer"/>, linked so the unread bytes can be handed out as a
/// <see cref="ReadOnlySequence{T}"/> without copying. The segment object outlives its block: the buffer keeps
/// it (without a block) for the next bytes, so a stream that goes idle and busy again allocates nothing.
/// </summary>
/// <remarks>
/// Every segment but the last of a sequence is full (the writer moves on only when a block has no room left),
/// so <see cref="ReadOnlySequenceSegment{T}.Memory"/> is always the whole block and never changes while a
/// reader holds a sequence over it. Touched only under the owning buffer's lock, or by the reader between its
/// read and its consume.
/// </remarks>
internal sealed class ReceiveSegment : ReadOnlySequenceSegment<byte>
{
    private IMemoryOwner<byte>? _block;

    public bool HasBlock => _block is not null;

    /// <summary>The segment after this one, or (after the buffer's last segment) a spare kept for reuse.</summary>
    public ReceiveSegment? NextSegment
    {
        get => (ReceiveSegment?)Next;
        set => Next = value;
    }

    /// <summary>The block's bytes from <paramref name="offset"/> on, for the writer.</summary>
    public Span<byte> WritableSpan(int offset) => _block!.Memory.Span[offset..];

    /// <summary>Takes <paramref name="block"/>, whose first byte is byte <paramref name="runningIndex"/> of the stream.</summary>
    public void Attach(IMemoryOwner<byte> block, long runningIndex)
    {
        _block = block;
        Memory = block.Memory;
        RunningIndex = runningIndex;
    }

    /// <summary>Gives the block back to its pool; nothing may read it afterwards.</summary>
    public void ReturnBlock()
    {
        IMemoryOwner<byte>? block = _block;
        _block = null;
        Memory = default;
        block?.Dispose();
    }
}
