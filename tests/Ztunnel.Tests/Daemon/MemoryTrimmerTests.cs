using System.Buffers;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Daemon;
using Ztunnel.Hbone;
using Ztunnel.Tests.Hbone;

namespace Ztunnel.Tests.Daemon;

public sealed class MemoryTrimmerTests : IDisposable
{
    private readonly Http2BufferPool _pool = new();
    private readonly ManualTimeProvider _time = new();
    private readonly MemoryTrimmer _trimmer;
    private long _allocated;
    private long _chunksRelayed;
    private int _collections;

    public MemoryTrimmerTests()
    {
        _trimmer = new MemoryTrimmer(_pool, _time, () => _allocated, () => _chunksRelayed, () => _collections++, NullLogger.Instance);
    }

    public void Dispose() => _trimmer.Dispose();

    [Fact]
    public void AfterABurst_ReleasesTheUnusedBlocks_AndCollectsOnce()
    {
        Burst(32);
        _time.Advance(MemoryTrimmer.Period);
        _collections.ShouldBe(0);          // the burst's period: busy, blocks kept
        _pool.FreeCount.ShouldBe(32);

        _time.Advance(MemoryTrimmer.Period);
        _pool.FreeCount.ShouldBe(MemoryTrimmer.KeptFreeBlocks);   // a few kept for the next request
        _collections.ShouldBe(1);

        _time.Advance(MemoryTrimmer.Period * 30);
        _collections.ShouldBe(1);          // at rest: nothing new to give back
    }

    [Fact]
    public void WhileAllocating_DoesNotCollect_ThenCollectsOnceQuiet()
    {
        for (int i = 0; i < 10; i++)
        {
            _allocated += 10L * 1024 * 1024;
            _time.Advance(MemoryTrimmer.Period);
        }
        _collections.ShouldBe(0);

        _time.Advance(MemoryTrimmer.Period);
        _collections.ShouldBe(1);
    }

    [Fact]
    public void SmallAllocations_AreNotWorthACollection()
    {
        for (int i = 0; i < 10; i++)
        {
            _allocated += 64 * 1024;
            _time.Advance(MemoryTrimmer.Period);
        }
        _collections.ShouldBe(0);
    }

    [Fact]
    public void WhileTrafficFlows_KeepsTheBlocks_AndCollectsOnlyOnceQuiet()
    {
        Burst(64);
        for (int i = 0; i < 5; i++)
        {
            Burst(MemoryTrimmer.QuietChunksPerPeriod);   // steady traffic: no GC pause for it, no churn
            _time.Advance(MemoryTrimmer.Period);
        }
        _pool.FreeCount.ShouldBe(64);
        _collections.ShouldBe(0);

        _time.Advance(MemoryTrimmer.Period);
        _collections.ShouldBe(1);
        _pool.FreeCount.ShouldBe(MemoryTrimmer.KeptFreeBlocks);
    }

    [Fact]
    public void KeepalivesOfManyIdleConnections_DoNotKeepTheDaemonBusy()
    {
        Burst(64);
        _time.Advance(MemoryTrimmer.Period);

        // 1000 idle pooled connections: each PING exchange rents a block for the frame written and one for the
        // frame read, on both ends, every 10 s: about 100 blocks per half second on this end, each given back as
        // soon as its frame is written or parsed, and no data relayed.
        for (int i = 0; i < 4; i++)
        {
            for (int ping = 0; ping < 100; ping++)
            {
                RentAndReturn(1);
            }
            _time.Advance(MemoryTrimmer.Period);
        }

        _collections.ShouldBe(1);
        _pool.FreeCount.ShouldBe(MemoryTrimmer.KeptFreeBlocks);
    }

    [Fact]
    public void BurstsThatComeAndGo_CollectOncePerQuietPeriod()
    {
        for (int round = 1; round <= 3; round++)
        {
            Burst(32);
            _time.Advance(MemoryTrimmer.Period);   // busy
            _time.Advance(MemoryTrimmer.Period);   // quiet: blocks released, one collection
            _collections.ShouldBe(round);
            _time.Advance(MemoryTrimmer.Period * 5);
            _collections.ShouldBe(round);
        }
    }

    /// <summary>Traffic: <paramref name="count"/> chunks relayed, each through a pool block (all in flight at once).</summary>
    private void Burst(long count)
    {
        _chunksRelayed += count;
        RentAndReturn(count);
    }

    private void RentAndReturn(long count)
    {
        var owners = new IMemoryOwner<byte>[count];
        for (int i = 0; i < count; i++)
        {
            owners[i] = _pool.Rent();
        }
        foreach (var owner in owners)
        {
            owner.Dispose();
        }
    }
}
