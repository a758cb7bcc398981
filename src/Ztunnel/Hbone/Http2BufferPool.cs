using System.Buffers;
using System.Collections.Concurrent;

namespace Ztunnel.Hbone;

/// <summary>
/// The blocks every HTTP/2 connection's pipes are made of (transport input, frame output, each stream's
/// received DATA): 64 KiB, one full DATA frame of ours, pinned (SslStream and sockets pin them anyway).
/// </summary>
/// <remarks>
/// Why not <see cref="ArrayPool{T}.Shared"/>: a busy connection has dozens of blocks in flight at once (up
/// to a megabyte of queued output, a stream's unread window), more than the shared pool keeps per size and
/// core; every block above that was dropped on return and allocated anew, about a third of the bytes
/// relayed. This pool keeps up to <see cref="MaxRetained"/> blocks (16 MiB) across all connections and
/// lets the rest go to the GC, so a burst does not pin its peak forever. <see cref="Trim"/> (called
/// periodically by Daemon.MemoryTrimmer) lets go of the blocks a whole period did not need: after a burst of
/// bulk traffic the server-side daemon held ~200 free blocks (12.5 MiB) for as long as it ran.
/// </remarks>
internal sealed class Http2BufferPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;

    /// <summary>Free blocks kept for reuse; more are released to the GC.</summary>
    public const int MaxRetained = 256;

    public static new Http2BufferPool Shared { get; } = new();

    private readonly ConcurrentQueue<Block> _free = new();
    private int _freeCount;

    // The fewest free blocks the pool had since the last Trim: that many were not needed all period.
    private int _lowWater;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Free blocks held now (for tests and diagnostics).</summary>
    internal int FreeCount => Volatile.Read(ref _freeCount);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"HTTP/2 buffer blocks are {BlockSize} bytes");
        }
        if (_free.TryDequeue(out var block))
        {
            int free = Interlocked.Decrement(ref _freeCount);
            if (free < Volatile.Read(ref _lowWater))
            {
                // Racy by design: a concurrent Rent may write a slightly higher value; Trim then keeps a
                // block or two more for one period. No lock or CAS loop on the data path for that.
                Volatile.Write(ref _lowWater, free);
            }
        }
        else
        {
            Volatile.Write(ref _lowWater, 0);
            block = new Block(this);
        }
        block.Rented = true;
        return block;
    }

    /// <summary>
    /// Releases the free blocks that stayed unused since the previous call (the low-water mark of the free
    /// list over the period) and starts a new period. A block returned during the period is kept until the
    /// next call at least, so steady traffic keeps its blocks and only the surplus of a past burst goes.
    /// Released blocks are pinned arrays: their memory returns to the OS with the next full GC.
    /// </summary>
    /// <returns>The number of blocks released.</returns>
    internal int Trim()
    {
        int unused = Math.Min(Volatile.Read(ref _lowWater), FreeCount);
        int released = 0;
        while (released < unused && _free.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _freeCount);
            released++;
        }
        Volatile.Write(ref _lowWater, FreeCount);
        return released;
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _freeCount) <= MaxRetained)
        {
            _free.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }

    protected override void Dispose(bool disposing)
    {
        // Shared for the process lifetime: nothing to release.
    }

    private sealed class Block(Http2BufferPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public bool Rented { get; set; }

        public Memory<byte> Memory => _array;

        public void Dispose()
        {
            // Pipes dispose each owner once; the flag guards the pool against a double return all the same.
            if (Rented)
            {
                Rented = false;
                pool.Return(this);
            }
        }
    }
}
