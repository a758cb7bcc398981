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
        _collections.ShouldBe(0);          // the burst's period: blocks kept
        _pool.FreeCount.ShouldBe(32);

        _time.Advance(MemoryTrimmer.Period);
        _pool.FreeCount.ShouldBe(0);
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
    public void RepeatedBursts_CollectAtMostOncePerInterval()
    {
        Burst(32);
        _time.Advance(MemoryTrimmer.Period * 2);
        _collections.ShouldBe(1);

        Burst(32);
        _time.Advance(MemoryTrimmer.Period * 2);
        _pool.FreeCount.ShouldBe(0);       // blocks released all the same
        _collections.ShouldBe(1);          // but the collection waits for the interval

        _time.Advance(MemoryTrimmer.MinCollectionInterval);
        _collections.ShouldBe(2);
    }

    private void Burst(int count)
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
