using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Ztunnel.Hbone;
using Ztunnel.Proxy;

namespace Ztunnel.Daemon;

/// <summary>
/// Gives memory back after a burst of traffic. Every <see cref="Period"/> it checks whether the daemon is
/// quiet (a period with under <see cref="QuietChunksPerPeriod"/> chunks relayed and
/// <see cref="QuietBytesPerPeriod"/> allocated). If so, it releases the free pool blocks beyond
/// <see cref="KeptFreeBlocks"/> (<see cref="Http2BufferPool.Trim"/>) and, when there is something to
/// give back (<see cref="CollectAfterReleasedBlocks"/> released blocks or
/// <see cref="CollectAfterAllocatedBytes"/> allocated since the last time), runs one full, compacting GC
/// that also decommits the free GC regions (<see cref="GCCollectionMode.Aggressive"/>), then hands glibc's
/// free heap pages back too (<c>malloc_trim</c>). Nothing is trimmed while traffic flows: the next burst
/// would only allocate the blocks anew (a first version did, when the blocks were still pinned arrays that
/// only a full GC frees: 140 MiB peak RSS under load instead of ~105).
/// </summary>
/// <remarks>
/// Why a daemon induces GCs: the workstation GC only collects when allocation asks it to, and a daemon at
/// rest allocates nothing, so whatever a burst left behind stays resident for as long as the node is quiet:
/// in make bench 100-105 MiB RSS after load, of which ~12 MiB free pool blocks and ~10 MiB of gen-0 budget
/// committed but empty; 70-74 MiB with this trimmer. One such collection takes 2-10 ms here (a
/// 15-20 MiB heap; ~45 ms with 2000 connections held) and happens only in a quiet period, so it pauses (almost) no traffic; it needs a busy
/// period before it (blocks to release, or megabytes allocated), so there is at most one per two periods (1 s)
/// under a load that comes and goes, none under steady load (never quiet) and none at rest (nothing new).
/// </remarks>
internal sealed partial class MemoryTrimmer : IDisposable
{
    /// <summary>
    /// Half a second: the daemon gives memory back within 0.5-1 s of the end of a burst. Each tick costs two
    /// counter reads.
    /// </summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);

    /// <summary>Allocated since the last induced collection that is worth collecting once quiet (4 MiB).</summary>
    public const long CollectAfterAllocatedBytes = 4L * 1024 * 1024;

    /// <summary>Allocated within one period below which the daemon counts as quiet (128 KiB).</summary>
    public const long QuietBytesPerPeriod = 128 * 1024;

    /// <summary>
    /// Chunks relayed within one period (<see cref="RelayCounters.ChunksRelayed"/>, all connections) below which
    /// the daemon counts as quiet: bulk traffic relays a chunk per 16-256 KiB, request/response traffic one per
    /// message. Relayed data, not pool rents: every keepalive PING and its ACK rent HTTP/2 buffer blocks on
    /// both ends, so with rents as the measure a node with more than ~80 idle pooled connections (they live
    /// up to <see cref="HboneDefaults.PoolIdleTimeout"/>) never counted as quiet and never gave memory back.
    /// </summary>
    public const long QuietChunksPerPeriod = 8;

    /// <summary>Free pool blocks kept when trimming, so the next request after a quiet spell allocates nothing.</summary>
    public const int KeptFreeBlocks = 8;

    /// <summary>Released pool blocks that are worth a collection (1 MiB).</summary>
    public const int CollectAfterReleasedBlocks = 1024 * 1024 / Http2BufferPool.BlockSize;

    private readonly Http2BufferPool _pool;
    private readonly Func<long> _allocatedBytes;
    private readonly Func<long> _chunksRelayed;
    private readonly Action _collect;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly Lock _sync = new();
    private long _allocatedAtTick;
    private long _chunksAtTick;
    private long _allocatedAtCollection;
    private int _releasedSinceCollection;

    internal MemoryTrimmer(Http2BufferPool pool, TimeProvider time, Func<long> allocatedBytes, Func<long> chunksRelayed, Action collect, ILogger logger)
    {
        _pool = pool;
        _allocatedBytes = allocatedBytes;
        _chunksRelayed = chunksRelayed;
        _collect = collect;
        _logger = logger;
        _allocatedAtTick = _allocatedAtCollection = allocatedBytes();
        _chunksAtTick = chunksRelayed();
        _timer = time.CreateTimer(static s => ((MemoryTrimmer)s!).Tick(), this, Period, Period);
    }

    /// <summary>Number of collections this trimmer has induced (for tests and diagnostics).</summary>
    internal int Collections { get; private set; }

    /// <summary>
    /// The daemon's trimmer: the shared HTTP/2 pool, every relay's chunks, the real GC, and the real clock with the
    /// tick on a thread of its own (<see cref="DedicatedThreadTimeProvider"/>: a daemon at rest wakes no pool worker).
    /// </summary>
    public static MemoryTrimmer Start(ILogger logger) =>
        new(Http2BufferPool.Shared, new DedicatedThreadTimeProvider("Ztunnel trimmer"), static () => GC.GetTotalAllocatedBytes(precise: false),
            static () => RelayCounters.ChunksRelayed, CollectAll, logger);

    private static bool s_mallocTrimMissing;

    private static void CollectAll()
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        // The runtime's and OpenSSL's native allocations (per-thread glibc arenas) keep their free pages
        // after a burst; malloc_trim(0) returns them (madvise): 1-2 MiB per daemon after load in make bench,
        // 0.1-0.4 ms. (MALLOC_ARENA_MAX would cap the arenas, but glibc reads it before Main: the environment
        // of the process is the only place for it.) Not in musl: there the call is skipped.
        if (!s_mallocTrimMissing)
        {
            try
            {
                _ = MallocTrim(0);
            }
            catch (EntryPointNotFoundException)
            {
                s_mallocTrimMissing = true;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        // Timer callbacks can overlap if one is slow (a collection); one at a time is enough.
        if (!_sync.TryEnter())
        {
            return;
        }
        try
        {
            long chunks = _chunksRelayed();
            long allocated = _allocatedBytes();
            bool quiet = allocated - _allocatedAtTick < QuietBytesPerPeriod && chunks - _chunksAtTick < QuietChunksPerPeriod;
            _allocatedAtTick = allocated;
            _chunksAtTick = chunks;
            if (!quiet)
            {
                return;
            }
            _releasedSinceCollection += _pool.Trim(keep: KeptFreeBlocks);
            bool worthIt = _releasedSinceCollection >= CollectAfterReleasedBlocks ||
                allocated - _allocatedAtCollection >= CollectAfterAllocatedBytes;
            if (!worthIt)
            {
                return;
            }
            long started = Stopwatch.GetTimestamp();
            _collect();
            LogCollected(_logger, _releasedSinceCollection, (allocated - _allocatedAtCollection) >> 20, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Collections++;
            _releasedSinceCollection = 0;
            _allocatedAtCollection = _allocatedAtTick = _allocatedBytes();
        }
        finally
        {
            _sync.Exit();
        }
    }

    [LoggerMessage(EventId = 130, Level = LogLevel.Debug, Message = "Memory trimmed: {Blocks} HTTP/2 buffer blocks released, {AllocatedMiB} MiB allocated since the last trim, full GC took {Milliseconds:F1} ms")]
    private static partial void LogCollected(ILogger logger, int blocks, long allocatedMiB, double milliseconds);
}
