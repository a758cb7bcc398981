using System.Buffers;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

public sealed class Http2BufferPoolTests
{
    [Fact]
    public void Trim_ReleasesTheBlocksOfABurst_OnlyAfterAWholePeriodWithoutUse()
    {
        var pool = new Http2BufferPool();
        Burst(pool, 10);

        // Returned during this period: still kept (the burst may go on).
        pool.Trim().ShouldBe(0);
        pool.FreeCount.ShouldBe(10);

        // A whole period nobody needed them: released.
        pool.Trim().ShouldBe(10);
        pool.FreeCount.ShouldBe(0);
    }

    [Fact]
    public void Trim_KeepsTheBlocksSteadyTrafficReuses_AndReleasesOnlyTheSurplus()
    {
        var pool = new Http2BufferPool();
        Burst(pool, 8);
        pool.Trim().ShouldBe(0);

        // Steady traffic: 3 blocks in use at a time, every period.
        for (int period = 0; period < 3; period++)
        {
            Burst(pool, 3);
            pool.Trim().ShouldBe(period == 0 ? 5 : 0);
            pool.FreeCount.ShouldBe(3);
        }
    }

    [Fact]
    public void Rent_AfterTrim_GivesDistinctWorkingBlocks()
    {
        var pool = new Http2BufferPool();
        Burst(pool, 4);
        pool.Trim();
        pool.Trim().ShouldBe(4);

        using IMemoryOwner<byte> a = pool.Rent();
        using IMemoryOwner<byte> b = pool.Rent();
        a.Memory.Length.ShouldBe(Http2BufferPool.BlockSize);
        a.Memory.Span.Fill(0xAA);
        b.Memory.Span.Fill(0x55);
        a.Memory.Span.IndexOfAnyExcept((byte)0xAA).ShouldBe(-1);
        b.Memory.Span.IndexOfAnyExcept((byte)0x55).ShouldBe(-1);
    }

    [Fact]
    public void Rent_ReusesAReturnedBlock_UntilTrimReleasesIt()
    {
        var pool = new Http2BufferPool();
        IMemoryOwner<byte> first = pool.Rent();
        Memory<byte> memory = first.Memory;
        first.Dispose();
        first.Dispose();   // a double return must not put the block in the free list twice
        pool.FreeCount.ShouldBe(1);

        using IMemoryOwner<byte> again = pool.Rent();
        again.Memory.Equals(memory).ShouldBeTrue();
        pool.FreeCount.ShouldBe(0);
    }

    // Rents `count` blocks at once (a burst), then returns them all.
    private static void Burst(Http2BufferPool pool, int count)
    {
        var owners = new IMemoryOwner<byte>[count];
        for (int i = 0; i < count; i++)
        {
            owners[i] = pool.Rent();
        }
        foreach (var owner in owners)
        {
            owner.Dispose();
        }
    }
}
