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
    private int _collections;

    public MemoryTrimmerTests()
    {
        _trimmer = new MemoryTrimmer(_pool, _time, () => _allocated, () => _collections++, NullLogger.Instance);
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
        _pool.FreeCount.ShouldBe((int)MemoryTrimmer.QuietRentsPerPeriod);   // a few kept for the next request
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
            Burst(MemoryTrimmer.QuietRentsPerPeriod);   // steady traffic: no GC pause for it, no churn
            _time.Advance(MemoryTrimmer.Period);
        }
        _pool.FreeCount.ShouldBe(64);
        _collections.ShouldBe(0);

        _time.Advance(MemoryTrimmer.Period);
        _collections.ShouldBe(1);
        _pool.FreeCount.ShouldBe((int)MemoryTrimmer.QuietRentsPerPeriod);
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

    private void Burst(long count)
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
