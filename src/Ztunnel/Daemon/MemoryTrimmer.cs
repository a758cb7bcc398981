using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Ztunnel.Hbone;

namespace Ztunnel.Daemon;

/// <summary>
/// Gives memory back after a burst of traffic. Every <see cref="Period"/> it releases the HTTP/2 buffer
/// blocks the period did not need (<see cref="Http2BufferPool.Trim"/>); when that freed a megabyte or more,
/// or when the daemon went quiet after allocating <see cref="CollectAfterAllocatedBytes"/> since the last
/// time, it runs one full, compacting GC that also decommits the free GC regions
/// (<see cref="GCCollectionMode.Aggressive"/>), at most once per <see cref="MinCollectionInterval"/>,
/// then hands glibc's free heap pages back too (<c>malloc_trim</c>).
/// </summary>
/// <remarks>
/// Why a daemon induces GCs: the workstation GC only collects when allocation asks it to, and a daemon at
/// rest allocates nothing, so whatever a burst left behind stays resident for as long as the node is quiet:
/// in make bench 100-105 MiB RSS after load, of which ~12 MiB free pool blocks (pinned, freed only by a
/// gen-2 GC) and ~10 MiB of gen-0 budget committed but empty. One such collection takes 2-10 ms here (a
/// 15-20 MiB heap); with the interval below that is at most ~0.2% of a CPU under a load that keeps
/// changing, and nothing under steady load (nothing to release, no quiet period) or at rest (nothing new).
/// </remarks>
internal sealed partial class MemoryTrimmer : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    /// <summary>Bounds the cost: at most one induced collection per this interval.</summary>
    public static readonly TimeSpan MinCollectionInterval = TimeSpan.FromSeconds(5);

    /// <summary>Allocated since the last induced collection that is worth collecting once quiet (4 MiB).</summary>
    public const long CollectAfterAllocatedBytes = 4L * 1024 * 1024;

    /// <summary>Allocated within one period below which the daemon counts as quiet (256 KiB).</summary>
    public const long QuietBytesPerPeriod = 256 * 1024;

    /// <summary>Released pool blocks that are worth a collection (1 MiB).</summary>
    public const int CollectAfterReleasedBlocks = 1024 * 1024 / Http2BufferPool.BlockSize;

    private readonly Http2BufferPool _pool;
    private readonly TimeProvider _time;
    private readonly Func<long> _allocatedBytes;
    private readonly Action _collect;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly Lock _sync = new();
    private long _allocatedAtTick;
    private long _allocatedAtCollection;
    private int _releasedSinceCollection;
    private long _lastCollection;
    private bool _collectedOnce;

    internal MemoryTrimmer(Http2BufferPool pool, TimeProvider time, Func<long> allocatedBytes, Action collect, ILogger logger)
    {
        _pool = pool;
        _time = time;
        _allocatedBytes = allocatedBytes;
        _collect = collect;
        _logger = logger;
        _allocatedAtTick = allocatedBytes();
        _timer = time.CreateTimer(static s => ((MemoryTrimmer)s!).Tick(), this, Period, Period);
    }

    /// <summary>Number of collections this trimmer has induced (for tests and diagnostics).</summary>
    internal int Collections { get; private set; }

    /// <summary>The daemon's trimmer: the shared HTTP/2 pool, the real clock and the real GC.</summary>
    public static MemoryTrimmer Start(ILogger logger) =>
        new(Http2BufferPool.Shared, TimeProvider.System, static () => GC.GetTotalAllocatedBytes(precise: false), CollectAll, logger);

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
            int released = _pool.Trim();
            _releasedSinceCollection += released;
            long allocated = _allocatedBytes();
            bool quiet = allocated - _allocatedAtTick < QuietBytesPerPeriod;
            _allocatedAtTick = allocated;
            bool worthIt = _releasedSinceCollection >= CollectAfterReleasedBlocks ||
                (quiet && allocated - _allocatedAtCollection >= CollectAfterAllocatedBytes);
            long now = _time.GetTimestamp();
            if (!worthIt || (_collectedOnce && _time.GetElapsedTime(_lastCollection, now) < MinCollectionInterval))
            {
                return;
            }
            long started = Stopwatch.GetTimestamp();
            _collect();
            LogCollected(_logger, _releasedSinceCollection, (allocated - _allocatedAtCollection) >> 20, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Collections++;
            _collectedOnce = true;
            _lastCollection = now;
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
