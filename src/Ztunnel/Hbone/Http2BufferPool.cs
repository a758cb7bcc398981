using System.Buffers;
using System.Collections.Concurrent;

namespace Ztunnel.Hbone;

/// <summary>
/// The blocks every HTTP/2 connection's pipes are made of (transport input, frame output, each stream's
/// received DATA): 64 KiB, one full DATA frame of ours, in native memory (<see cref="NativeMemoryBlock"/>:
/// never moved, freed at once when the pool lets a block go).
/// </summary>
/// <remarks>
/// Why not <see cref="ArrayPool{T}.Shared"/>: a busy connection has dozens of blocks in flight at once (up
/// to a megabyte of queued output, a stream's unread window), more than the shared pool keeps per size and
/// core; every block above that was dropped on return and allocated anew, about a third of the bytes
/// relayed. This pool keeps up to <see cref="MaxRetained"/> blocks (16 MiB) across all connections and
/// frees the rest, so a burst does not keep its peak forever. <see cref="Trim"/> (called by
/// Daemon.MemoryTrimmer once the daemon is quiet) lets go of the rest: after a burst of bulk traffic the
/// server-side daemon held ~200 free blocks (12.5 MiB) for as long as it ran.
/// </remarks>
internal sealed class Http2BufferPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;

    /// <summary>Free blocks kept for reuse; more are freed.</summary>
    public const int MaxRetained = 256;

    public static new Http2BufferPool Shared { get; } = new();

    private readonly ConcurrentQueue<Block> _free = new();
    private int _freeCount;
    private long _rents;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Free blocks held now (for tests and diagnostics).</summary>
    internal int FreeCount => Volatile.Read(ref _freeCount);

    /// <summary>Blocks rented since start (for tests and diagnostics: a path that churns blocks shows here).</summary>
    internal long Rents => Interlocked.Read(ref _rents);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"HTTP/2 buffer blocks are {BlockSize} bytes");
        }
        Interlocked.Increment(ref _rents);
        if (_free.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _freeCount);
        }
        else
        {
            block = new Block(this);
        }
        block.Rented();
        return block;
    }

    /// <summary>
    /// Takes one more reference to <paramref name="owner"/>, a block rented from any instance of this pool: each
    /// holder disposes its own reference, and the block goes back to its pool with the last. False for memory from
    /// anywhere else (the caller copies instead).
    /// </summary>
    internal static bool TryRetain(IMemoryOwner<byte>? owner) => owner is Block block && block.TryRetain();

    /// <summary>True when someone besides the caller holds a reference to <paramref name="owner"/> (see <see cref="TryRetain"/>).</summary>
    internal static bool IsShared(IMemoryOwner<byte>? owner) => owner is Block block && block.References > 1;

    /// <summary>
    /// Releases free blocks until at most <paramref name="keep"/> are left. Meant for quiet times: trimming
    /// while traffic flows would only make the next burst allocate anew. The released blocks' memory goes back
    /// to the C heap at once (and to the OS with malloc_trim, see Daemon.MemoryTrimmer).
    /// </summary>
    /// <returns>The number of blocks released.</returns>
    internal int Trim(int keep)
    {
        int released = 0;
        while (Volatile.Read(ref _freeCount) > keep && _free.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _freeCount);
            block.Free();
            released++;
        }
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
            block.Free();
        }
    }

    protected override void Dispose(bool disposing)
    {
        // Shared for the process lifetime: nothing to release.
    }

    private sealed class Block(Http2BufferPool pool) : IMemoryOwner<byte>
    {
        private readonly NativeMemoryBlock _memory = new(BlockSize);
        // Holders of the rented block: 1 from Rent, one more per TryRetain; 0 while it is free.
        private int _references;

        public int References => Volatile.Read(ref _references);

        public Memory<byte> Memory => _memory.Memory;

        public void Rented() => Volatile.Write(ref _references, 1);

        public bool TryRetain()
        {
            int references = Volatile.Read(ref _references);
            while (references > 0)
            {
                int seen = Interlocked.CompareExchange(ref _references, references + 1, references);
                if (seen == references)
                {
                    return true;
                }
                references = seen;
            }
            return false; // not rented: nobody may hand out a reference to a free block
        }

        /// <summary>Gives the memory back; only for a block the pool has taken out of its free list.</summary>
        public void Free() => ((IDisposable)_memory).Dispose();

        /// <summary>Drops one reference; the last one returns the block to the pool.</summary>
        public void Dispose()
        {
            int references = Interlocked.Decrement(ref _references);
            if (references == 0)
            {
                pool.Return(this);
            }
            else if (references < 0)
            {
                // Disposed once more than it was held: the pool keeps it once all the same.
                Interlocked.Increment(ref _references);
            }
        }
    }
}
